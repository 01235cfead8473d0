//! Statements and blocks from the token stream, with nginx's block rules:
//! `}` at the top of a file is an error, end of file inside a block is an
//! error, the bodies of `map`, `geo`, `types`, `split_clients` and
//! `charset_map` cannot contain blocks, and `*_by_lua_block` bodies are raw
//! Lua ([`crate::lua`]).

use crate::ast::{FileId, Stmt, Word};
use crate::error::{ParseError, SyntaxError};
use crate::lexer::{Event, Lexer};

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
fn check_name(lx: &Lexer<'_>, stack: &[Frame], name: &Word) -> Result<(), ParseError> {
    if name.value.contains(&b'}') && !stack.last().is_some_and(|f| f.handler) {
        return Err(lx.error(
            lx.here(),
            SyntaxError::BraceInName(name.text().into_owned()),
        ));
    }
    Ok(())
}

struct Frame {
    stmts: Vec<Stmt>,
    pending: Option<(Word, Vec<Word>)>,
    handler: bool,
}

/// Parse one file's bytes into its statements (includes are not followed).
pub fn parse(src: &[u8], file: FileId) -> Result<Vec<Stmt>, ParseError> {
    let mut lx = Lexer::new(src, file);
    let mut stack: Vec<Frame> = vec![Frame {
        stmts: Vec::new(),
        pending: None,
        handler: false,
    }];
    loop {
        match lx.next_event()? {
            Event::Eof => {
                if stack.len() > 1 {
                    let span = lx.span_at(lx.pos, lx.line, lx.line_start);
                    return Err(lx.error(span, SyntaxError::EofInBlock));
                }
                return Ok(stack.pop().map(|f| f.stmts).unwrap_or_default());
            }
            Event::BlockEnd(span) => {
                if stack.len() == 1 {
                    return Err(lx.error(span, SyntaxError::UnexpectedClose));
                }
                let done = stack.pop().expect("non-empty stack");
                let parent = stack.last_mut().expect("parent frame");
                let (name, args) = parent.pending.take().expect("pending block statement");
                parent.stmts.push(Stmt {
                    name,
                    args,
                    block: Some(done.stmts),
                });
            }
            Event::Statement(mut words) => {
                let name = words.remove(0);
                check_name(&lx, &stack, &name)?;
                let frame = stack.last_mut().expect("frame");
                frame.stmts.push(Stmt {
                    name,
                    args: words,
                    block: None,
                });
            }
            Event::BlockStart(mut words) => {
                if stack.last().is_some_and(|f| f.handler) {
                    return Err(lx.error(lx.here(), SyntaxError::Unexpected('{')));
                }
                let name = words.remove(0);
                check_name(&lx, &stack, &name)?;
                if is_lua_block(&name) {
                    let body = lx.read_lua_block()?;
                    words.push(body);
                    stack.last_mut().expect("frame").stmts.push(Stmt {
                        name,
                        args: words,
                        block: None,
                    });
                    continue;
                }
                if stack.len() > MAX_DEPTH {
                    return Err(lx.error(lx.here(), SyntaxError::TooDeep(MAX_DEPTH)));
                }
                let handler = HANDLER_BLOCKS.iter().any(|h| name.is(h));
                stack.last_mut().expect("frame").pending = Some((name, words));
                stack.push(Frame {
                    stmts: Vec::new(),
                    pending: None,
                    handler,
                });
            }
        }
    }
}

/// Parse several files at once, spread over the machine's cores; results
/// are in input order.
pub fn parse_many(files: &[(FileId, &[u8])]) -> Vec<Result<Vec<Stmt>, ParseError>> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
    if threads < 2 || files.len() < 2 {
        return files.iter().map(|(id, text)| parse(text, *id)).collect();
    }
    let chunk = files.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = files
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|(id, text)| parse(text, *id))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("parser threads do not panic"))
            .collect()
    })
}
