//! Statements and blocks from the token stream, with nginx's block rules:
//! `}` at the top of a file is an error, end of file inside a block is an
//! error, the bodies of `map`, `geo`, `types`, `split_clients` and
//! `charset_map` cannot contain blocks, and `*_by_lua_block` bodies are raw
//! Lua ([`crate::lua`]).
//!
//! A file is parsed into a flat list of [`Item`]s in reading order (a block
//! statement is followed by its contents), which the loader copies straight
//! into the [`crate::Config`] arena; [`parse`] nests it into [`Stmt`]s.

use std::sync::Arc;

use crate::ast::{Args, FileId, Stmt, Word};
use crate::error::{ParseError, SyntaxError};
use crate::lexer::{Lexer, Raw};

/// Deeper nesting than this is rejected (real configs nest a few levels).
pub const MAX_DEPTH: usize = 200;

/// Directives whose blocks nginx hands to a custom handler: every statement
/// inside is data, and a nested `{` is an error.
const HANDLER_BLOCKS: &[&str] = &["map", "geo", "types", "split_clients", "charset_map"];

/// Whether nginx (with lua-nginx-module) reads this directive's block as raw
/// Lua. nginx matches directive names by value, so a quoted name counts too.
pub fn is_lua_block(name: &Word) -> bool {
    name.value.ends_with(b"_by_lua_block")
}

/// nginx rejects unknown directives when their statement ends; names with a
/// `}` can only come from an unquoted regex quantifier, so reject them the
/// same way (outside `map`-like blocks, whose keys are data).
fn check_name(lx: &Lexer<'_>, in_handler: bool, name: &Word) -> Result<(), ParseError> {
    // Names are short: a plain loop beats memchr's set-up.
    #[allow(clippy::manual_contains)]
    let brace = name.value.iter().any(|&b| b == b'}');
    if !in_handler && brace {
        return Err(lx.error(
            lx.here(),
            SyntaxError::BraceInName(name.text().into_owned()),
        ));
    }
    Ok(())
}

/// One statement of a file, in reading order.
#[derive(Debug, Clone)]
pub(crate) struct Item {
    /// The directive name.
    pub(crate) name: Word,
    /// Its arguments.
    pub(crate) args: Args,
    /// For a block statement, the index just past its last content item
    /// (always greater than its own index); 0 for a simple statement.
    pub(crate) end: u32,
}

impl Item {
    /// Whether this is a block statement.
    pub(crate) fn is_block(&self) -> bool {
        self.end != 0
    }
}

/// Parse one file's bytes into its statements (includes are not followed).
pub fn parse(src: &[u8], file: FileId) -> Result<Vec<Stmt>, ParseError> {
    parse_items(src, file).map(nest)
}

/// [`parse`] with every byte read by the lexer's full state machine (no
/// fast path): the reference the fast path is checked against.
#[doc(hidden)]
pub fn parse_reference(src: &[u8], file: FileId) -> Result<Vec<Stmt>, ParseError> {
    parse_with(Lexer::new_reference(src, file)).map(nest)
}

/// Parse one file's bytes into a flat item list.
pub(crate) fn parse_items(src: &[u8], file: FileId) -> Result<Vec<Item>, ParseError> {
    parse_with(Lexer::new(src, file))
}

fn parse_with(mut lx: Lexer<'_>) -> Result<Vec<Item>, ParseError> {
    let src = lx.src;
    let mut items: Vec<Item> = Vec::with_capacity(src.len() / 32 + 4);
    // Every argument of the file, in order.
    let mut words: Vec<Word> = Vec::with_capacity(src.len() / 16 + 4);
    // Open blocks: the block item's index and whether it is a handler block.
    let mut open: Vec<(usize, bool)> = Vec::new();
    loop {
        let in_handler = open.last().is_some_and(|&(_, h)| h);
        let mark = words.len();
        match lx.next_raw(&mut words, mark)? {
            Raw::Eof => {
                if !open.is_empty() {
                    let span = lx.span_at(lx.pos, lx.line, lx.line_start);
                    return Err(lx.error(span, SyntaxError::EofInBlock));
                }
                words.shrink_to_fit();
                let all = Arc::new(words);
                for it in &mut items {
                    it.args.attach(&all);
                }
                return Ok(items);
            }
            Raw::BlockEnd(span) => {
                let Some((i, _)) = open.pop() else {
                    return Err(lx.error(span, SyntaxError::UnexpectedClose));
                };
                items[i].end = index(items.len());
            }
            Raw::Statement {
                name,
                args,
                block: false,
            } => {
                check_name(&lx, in_handler, &name)?;
                items.push(Item {
                    name,
                    args: Args::pending(args),
                    end: 0,
                });
            }
            Raw::Statement {
                name,
                args,
                block: true,
            } => {
                if in_handler {
                    return Err(lx.error(lx.here(), SyntaxError::Unexpected('{')));
                }
                check_name(&lx, in_handler, &name)?;
                if is_lua_block(&name) {
                    let body = lx.read_lua_block()?;
                    words.push(body);
                    items.push(Item {
                        name,
                        args: Args::pending(args.start..words.len()),
                        end: 0,
                    });
                    continue;
                }
                if open.len() >= MAX_DEPTH {
                    return Err(lx.error(lx.here(), SyntaxError::TooDeep(MAX_DEPTH)));
                }
                let handler = HANDLER_BLOCKS.iter().any(|h| name.is(h));
                open.push((items.len(), handler));
                // `end` is set when the block closes.
                items.push(Item {
                    name,
                    args: Args::pending(args),
                    end: u32::MAX,
                });
            }
        }
    }
}

fn index(i: usize) -> u32 {
    u32::try_from(i).expect("fewer than 2^32 statements in a file")
}

/// Nest a flat item list into statements and blocks.
fn nest(items: Vec<Item>) -> Vec<Stmt> {
    struct Open {
        stmts: Vec<Stmt>,
        head: Option<(Word, Args, usize)>,
    }
    fn close(stack: &mut Vec<Open>) {
        let done = stack.pop().expect("an open block");
        let (name, args, _) = done.head.expect("a block statement");
        stack.last_mut().expect("parent").stmts.push(Stmt {
            name,
            args,
            block: Some(done.stmts),
        });
    }
    let mut stack = vec![Open {
        stmts: Vec::new(),
        head: None,
    }];
    for (i, it) in items.into_iter().enumerate() {
        while stack
            .last()
            .and_then(|o| o.head.as_ref())
            .is_some_and(|h| h.2 == i)
        {
            close(&mut stack);
        }
        if it.is_block() {
            stack.push(Open {
                stmts: Vec::new(),
                head: Some((it.name, it.args, it.end as usize)),
            });
        } else {
            stack.last_mut().expect("frame").stmts.push(Stmt {
                name: it.name,
                args: it.args,
                block: None,
            });
        }
    }
    while stack.len() > 1 {
        close(&mut stack);
    }
    stack.pop().map(|o| o.stmts).unwrap_or_default()
}
