//! A straight-line reader for the statements almost every config is made
//! of: bare words (with `$var`, `${var}` and backslash escapes), quoted
//! words followed by a blank, `;` or `{`, `#` comments between tokens, and
//! `}`. It gives exactly what [`crate::lexer`]'s full state machine gives
//! for them, and gives up — leaving the lexer untouched, so the state
//! machine reads the statement from its start — on anything else: errors,
//! a quoted word followed by `)`, and reaching the end of nginx's emulated
//! read buffer (where the buffer rules apply).

use crate::ast::{Quote, Span, Word};
use crate::lexer::{IN_WORD, Lexer, Raw, offset, unescape};

impl Lexer<'_> {
    /// Read one statement, block start or block end the common way, or
    /// `None` with the lexer unchanged (`words` may hold extra entries past
    /// `mark`; the caller drops them).
    pub(crate) fn read_common(&mut self, words: &mut Vec<Word>, mark: usize) -> Option<Raw> {
        // Never look past the emulated buffer end: crossing it is the
        // state machine's business.
        let src = &self.src[..self.last];
        let mut pos = self.pos;
        let mut line = self.line;
        let mut line_start = self.line_start;
        // The statement's first word; the others go to `words`.
        let mut name: Option<Word> = None;
        loop {
            // Blanks and comments between tokens.
            loop {
                match *src.get(pos)? {
                    b' ' => pos += spaces(&src[pos..]),
                    b'\t' | b'\r' => pos += 1,
                    b'\n' => {
                        pos += 1;
                        line += 1;
                        line_start = pos;
                    }
                    b'#' => pos += memchr::memchr(b'\n', &src[pos..])?,
                    _ => break,
                }
            }
            let tok = pos;
            let span = Span {
                file: self.file,
                line,
                col: offset(tok - line_start + 1),
            };
            let ch = src[tok];
            match ch {
                b';' | b'{' => {
                    let name = name?;
                    self.pos = tok + 1;
                    self.line = line;
                    self.line_start = line_start;
                    return Some(Raw::Statement {
                        name,
                        args: mark..words.len(),
                        block: ch == b'{',
                    });
                }
                b'}' => {
                    if name.is_some() {
                        return None;
                    }
                    self.pos = tok + 1;
                    self.line = line;
                    self.line_start = line_start;
                    return Some(Raw::BlockEnd(span));
                }
                b'"' | b'\'' => {
                    let mut i = tok + 1;
                    let mut escaped = false;
                    loop {
                        let c = *src.get(i)?;
                        if c == ch {
                            break;
                        }
                        if c == b'\\' {
                            escaped = true;
                            i += 1;
                            if *src.get(i)? == b'\n' {
                                line += 1;
                                line_start = i + 1;
                            }
                        } else if c == b'\n' {
                            line += 1;
                            line_start = i + 1;
                        }
                        i += 1;
                    }
                    let body = &src[tok + 1..i];
                    push(
                        &mut name,
                        words,
                        Word {
                            value: if escaped { unescape(body) } else { body.into() },
                            raw_range: (offset(tok), offset(i + 1)),
                            quote: if ch == b'"' {
                                Quote::Double
                            } else {
                                Quote::Single
                            },
                            span,
                        },
                    );
                    pos = i + 1;
                    // After a closing quote: a blank, `;` or `{` (handled
                    // at the top of the loop); `)` and anything else are
                    // the state machine's.
                    if !matches!(*src.get(pos)?, b' ' | b'\t' | b'\r' | b'\n' | b';' | b'{') {
                        return None;
                    }
                }
                _ => {
                    // A bare word: ends at a blank, `;` or `{` (not `}`);
                    // `\` makes the next byte inert, `${` stays in the word.
                    let mut i = tok;
                    let mut escaped = false;
                    loop {
                        i += ordinary(&src[i..]);
                        let c = *src.get(i)?;
                        if IN_WORD[c as usize] {
                            i += 1;
                            continue;
                        }
                        match c {
                            b'\\' => {
                                escaped = true;
                                i += 1;
                                if *src.get(i)? == b'\n' {
                                    line += 1;
                                    line_start = i + 1;
                                }
                                i += 1;
                            }
                            b'$' => {
                                // nginx keeps every `{` right after a `$`
                                i += 1;
                                while *src.get(i)? == b'{' {
                                    i += 1;
                                }
                            }
                            _ => break,
                        }
                    }
                    let text = &src[tok..i];
                    push(
                        &mut name,
                        words,
                        Word {
                            value: if escaped { unescape(text) } else { text.into() },
                            raw_range: (offset(tok), offset(i)),
                            quote: Quote::None,
                            span,
                        },
                    );
                    pos = i;
                }
            }
        }
    }
}

/// A word read: the statement's name if it has none yet, else an argument.
fn push(name: &mut Option<Word>, words: &mut Vec<Word>, w: Word) {
    if name.is_none() {
        *name = Some(w);
    } else {
        words.push(w);
    }
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// Eight bytes of `s` from `i`, if there are eight.
fn chunk(s: &[u8], i: usize) -> Option<u64> {
    let b: [u8; 8] = s.get(i..i + 8)?.try_into().ok()?;
    Some(u64::from_le_bytes(b))
}

/// Marks (high bit) bytes of `x` that are below `n` (at most 128): the
/// lowest mark is exact, higher ones may be false.
fn below(x: u64, n: u8) -> u64 {
    x.wrapping_sub(ONES * u64::from(n)) & !x & HIGH
}

/// Marks bytes of `x` equal to `b`, lowest mark exact.
fn equal(x: u64, b: u8) -> u64 {
    below(x ^ (ONES * u64::from(b)), 1)
}

/// The length of the run of spaces `s` starts with (at least 1).
fn spaces(s: &[u8]) -> usize {
    let mut n = 0;
    while let Some(x) = chunk(s, n) {
        let other = x ^ (ONES * u64::from(b' '));
        if other != 0 {
            return n + (other.trailing_zeros() / 8) as usize;
        }
        n += 8;
    }
    n + s[n..].iter().take_while(|&&b| b == b' ').count()
}

/// How many bytes at the start of `s` are certainly plain word bytes,
/// eight at a time: stops at the first byte that may end a word or need
/// the byte-wise rules (blanks and other control bytes, `;`, `{`, `\`,
/// `$`), or where fewer than eight bytes are left.
fn ordinary(s: &[u8]) -> usize {
    let mut n = 0;
    while let Some(x) = chunk(s, n) {
        let stop =
            below(x, 0x21) | equal(x, b';') | equal(x, b'{') | equal(x, b'\\') | equal(x, b'$');
        if stop != 0 {
            return n + (stop.trailing_zeros() / 8) as usize;
        }
        n += 8;
    }
    n
}
