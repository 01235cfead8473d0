//! The syntax tree of one config file, as nginx's own tokenizer sees it:
//! statements made of words, optionally followed by a block.

use std::borrow::Cow;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

/// Index of a source file in a [`crate::Config`]'s file table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct FileId(pub u32);

/// A position in a source file: 1-based line and byte column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Span {
    /// The file.
    pub file: FileId,
    /// 1-based line (nginx counts LF only).
    pub line: u32,
    /// 1-based byte column.
    pub col: u32,
}

/// How a word was quoted in the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Quote {
    /// A bare word.
    None,
    /// `'…'`.
    Single,
    /// `"…"`.
    Double,
    /// The body of a `*_by_lua_block { … }` (raw Lua, braces excluded).
    LuaBlock,
}

/// One word (directive name or argument).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    /// The value nginx's handlers see: quotes removed, `\"` `\'` `\\` `\t`
    /// `\r` `\n` decoded, any other `\x` kept as two characters.
    pub value: crate::bytes::Bytes,
    /// Byte range of the exact source text (quotes included) in its file;
    /// see [`Word::raw`].
    pub raw_range: (u32, u32),
    /// How it was quoted.
    pub quote: Quote,
    /// Where it starts (the opening quote for quoted words).
    pub span: Span,
}

impl Word {
    /// The value as text (non-UTF-8 bytes replaced).
    pub fn text(&self) -> Cow<'_, str> {
        match std::str::from_utf8(&self.value) {
            Ok(s) => Cow::Borrowed(s),
            Err(_) => String::from_utf8_lossy(&self.value),
        }
    }

    /// The exact source bytes (quotes included), given the file's text.
    pub fn raw<'t>(&self, file_text: &'t [u8]) -> &'t [u8] {
        file_text
            .get(self.raw_range.0 as usize..self.raw_range.1 as usize)
            .unwrap_or_default()
    }

    /// Whether the value equals `s` exactly.
    pub fn is(&self, s: &str) -> bool {
        self.value == s.as_bytes()
    }

    /// Whether the value contains a `$` (a variable reference nginx will
    /// evaluate per request).
    pub fn has_variables(&self) -> bool {
        self.value.contains(&b'$')
    }
}

impl fmt::Display for Word {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text())
    }
}

/// A directive's arguments: an immutable slice of words (it derefs to
/// `[Word]`). The words of one parse of a file are stored together and
/// shared: cloning is cheap, and the copies of a file included many times
/// all point at the same words.
#[derive(Clone, Default)]
pub struct Args {
    words: Option<Arc<Vec<Word>>>,
    start: u32,
    len: u32,
}

impl Args {
    /// The arguments as a slice.
    pub fn as_slice(&self) -> &[Word] {
        match &self.words {
            Some(w) => &w[self.start as usize..(self.start + self.len) as usize],
            None => &[],
        }
    }

    /// `all[range]`, for a file's words being collected (`all` is set by
    /// [`Args::attach`] once the file is read).
    pub(crate) fn pending(range: std::ops::Range<usize>) -> Args {
        let n = |i: usize| u32::try_from(i).expect("fewer than 2^32 words in a file");
        Args {
            words: None,
            start: n(range.start),
            len: n(range.end - range.start),
        }
    }

    /// Point pending arguments at the file's words.
    pub(crate) fn attach(&mut self, all: &Arc<Vec<Word>>) {
        if self.len > 0 {
            self.words = Some(Arc::clone(all));
        }
    }
}

impl Deref for Args {
    type Target = [Word];
    fn deref(&self) -> &[Word] {
        self.as_slice()
    }
}

impl From<Vec<Word>> for Args {
    fn from(v: Vec<Word>) -> Self {
        let len = v.len();
        let mut a = Args::pending(0..len);
        a.attach(&Arc::new(v));
        a
    }
}

impl FromIterator<Word> for Args {
    fn from_iter<I: IntoIterator<Item = Word>>(iter: I) -> Self {
        Vec::from_iter(iter).into()
    }
}

impl PartialEq for Args {
    fn eq(&self, other: &Args) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for Args {}

impl<'a> IntoIterator for &'a Args {
    type Item = &'a Word;
    type IntoIter = std::slice::Iter<'a, Word>;
    fn into_iter(self) -> Self::IntoIter {
        self.as_slice().iter()
    }
}

impl fmt::Debug for Args {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.as_slice()).finish()
    }
}

/// A statement: `name args… ;` or `name args… { block }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stmt {
    /// The directive name (first word).
    pub name: Word,
    /// The remaining words.
    pub args: Args,
    /// The block's statements, for block directives.
    pub block: Option<Vec<Stmt>>,
}

impl Stmt {
    /// Where the statement starts.
    pub fn span(&self) -> Span {
        self.name.span
    }
}
