//! Errors, phrased like nginx's own (`unexpected "}"`), located like a
//! compiler's (`path:line:col`).

use std::fmt;
use std::path::PathBuf;

use crate::ast::FileId;

/// A syntax error in one file, before its path is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// The file.
    pub file: FileId,
    /// 1-based line, as nginx would report it.
    pub line: u32,
    /// 1-based byte column.
    pub col: u32,
    /// What went wrong.
    pub kind: SyntaxError,
}

/// The syntax errors nginx's config reader reports, with its wording.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SyntaxError {
    /// A byte that is not allowed here (`;`/`{` with no words, text right
    /// after a closing quote, `}` with pending words, `{` inside `map`…).
    #[error("unexpected \"{0}\"")]
    Unexpected(char),
    /// `}` at the top level of a file.
    #[error("unexpected \"}}\"")]
    UnexpectedClose,
    /// End of file inside a statement.
    #[error("unexpected end of file, expecting \";\" or \"}}\"")]
    EofInStatement,
    /// End of file inside a block.
    #[error("unexpected end of file, expecting \"}}\"")]
    EofInBlock,
    /// A token of 4096 bytes or more.
    #[error("too long parameter \"{0}...\" started")]
    TooLongParameter(String),
    /// A quoted token of 4096 bytes or more.
    #[error("too long parameter, probably missing terminating \"{0}\" character")]
    TooLongQuoted(char),
    /// End of file inside a `*_by_lua_block`.
    #[error("unexpected end of file, expecting terminating characters for lua code block")]
    LuaEof,
    /// 4 KB of Lua with no token in it.
    #[error("too long lua code block, probably missing terminating characters")]
    LuaTooLong,
    /// A Lua long bracket whose closing bracket is not within nginx's buffer.
    #[error(
        "Lua code block missing the closing long bracket \"{0}\", the inlined Lua code may be too long"
    )]
    LuaLongBracket(String),
    /// A directive name no nginx module can have: it holds a `}`. This is
    /// what an unquoted `{n}` regex quantifier produces (`location ~ ^/[0-9]{6}$`
    /// opens a block at `{` and `6}$` becomes a directive).
    #[error(
        "unknown directive \"{0}\" (an unquoted \"{{\" ends a word in nginx: put the regex in quotes)"
    )]
    BraceInName(String),
    /// Pathological nesting (no real config comes near the limit).
    #[error("blocks nested more than {0} levels deep")]
    TooDeep(usize),
}

/// Why a config tree could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A syntax error, located.
    #[error("{path}:{line}:{col}: {kind}", path = .path.display())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: u32,
        /// 1-based column.
        col: u32,
        /// What nginx would say.
        kind: SyntaxError,
    },
    /// The main file could not be read.
    #[error("{path}: cannot read: {source}", path = .path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// An `include` that (directly or through other files) includes itself.
    #[error("{path}:{line}: include cycle: {chain}", path = .path.display(), chain = .chain.join(" -> "))]
    IncludeCycle {
        /// The file holding the include that closes the cycle.
        path: PathBuf,
        /// Its line.
        line: u32,
        /// The files in the cycle, first repeated at the end.
        chain: Vec<String>,
    },
    /// An `nginx -T` dump with no `# configuration file` header.
    #[error("{path}: not an nginx -T dump (no \"# configuration file PATH:\" line)", path = .path.display())]
    NotADump {
        /// The file.
        path: PathBuf,
    },
}

impl LoadError {
    /// The `path:line` this error points at, when it has one.
    pub fn location(&self) -> Option<(&PathBuf, u32)> {
        match self {
            LoadError::Syntax { path, line, .. } | LoadError::IncludeCycle { path, line, .. } => {
                Some((path, *line))
            }
            _ => None,
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.col, self.kind)
    }
}

impl std::error::Error for ParseError {}
