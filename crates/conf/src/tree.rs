//! The whole configuration after includes: every directive of every file in
//! one arena, in nginx's reading order, each knowing its block parent. An
//! `include` directive stays in place and the statements it pulled in follow
//! it in the same block, as nginx processes them.

use std::path::{Path, PathBuf};

use crate::ast::{Args, FileId, Span, Word};

/// Index of a directive in [`Config::nodes`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(pub u32);

/// One directive.
#[derive(Debug, Clone)]
pub struct Node {
    /// Directive name.
    pub name: Word,
    /// Arguments (for `*_by_lua_block`, the last one is the Lua body).
    pub args: Args,
    /// The enclosing block directive (`None` at the main level).
    pub parent: Option<NodeId>,
    /// Where the block's directives (including ones pulled in by `include`)
    /// are in [`Config`]'s child list; see [`Config::children`].
    pub(crate) kids: Kids,
}

/// A block's range in the child list; `start == u32::MAX` for a simple
/// directive.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Kids {
    pub(crate) start: u32,
    pub(crate) len: u32,
}

impl Kids {
    pub(crate) const NONE: Kids = Kids {
        start: u32::MAX,
        len: 0,
    };
}

impl Node {
    /// Whether the directive has a block (`server { … }`), possibly empty.
    pub fn is_block(&self) -> bool {
        self.kids.start != u32::MAX
    }

    /// Where the directive is.
    pub fn span(&self) -> Span {
        self.name.span
    }

    /// Whether the directive is named `name`.
    pub fn is(&self, name: &str) -> bool {
        self.name.is(name)
    }

    /// The `i`th argument as text.
    pub fn arg(&self, i: usize) -> Option<std::borrow::Cow<'_, str>> {
        self.args.get(i).map(|w| w.text())
    }
}

/// One source file that took part in the configuration.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The path as nginx opened it (absolute when the main file's was).
    pub path: PathBuf,
    /// The file's bytes.
    pub text: Vec<u8>,
}

/// A non-fatal problem met while loading; the rest of the tree is intact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadIssue {
    /// A non-glob `include` whose file does not exist (nginx refuses to start).
    IncludeMissing {
        /// The include directive.
        at: Span,
        /// The resolved path.
        path: PathBuf,
    },
    /// An included file that could not be read (e.g. permission denied); its
    /// directives are missing from the model.
    IncludeUnreadable {
        /// The include directive.
        at: Span,
        /// The resolved path.
        path: PathBuf,
        /// The OS error text.
        error: String,
    },
}

/// A loaded configuration tree.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// The main config file.
    pub main_file: PathBuf,
    /// nginx's `conf_prefix`: the main file's directory, base of relative `include`s.
    pub conf_prefix: PathBuf,
    /// nginx's prefix (`-p`), base of relative log/pid paths, when known.
    pub prefix: Option<PathBuf>,
    /// Every file read, indexed by [`FileId`].
    pub files: Vec<SourceFile>,
    /// Every directive.
    pub nodes: Vec<Node>,
    /// The main-context directives, in order.
    pub root: Vec<NodeId>,
    /// Non-fatal load problems.
    pub issues: Vec<LoadIssue>,
    /// The children of every block, one block after another.
    pub(crate) child_ids: Vec<NodeId>,
}

impl Config {
    /// The directive with this id.
    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id.0 as usize]
    }

    /// The path of a file.
    pub fn path(&self, file: FileId) -> &Path {
        &self.files[file.0 as usize].path
    }

    /// `path:line` of a span, with the path as the config names it (relative
    /// to the main file's directory when it is inside it).
    pub fn location(&self, span: Span) -> String {
        format!("{}:{}", self.display_path(span.file).display(), span.line)
    }

    /// `path:line` of a span with the file's full path (absolute when it can
    /// be made so), as `nginx -T` names files.
    pub fn full_location(&self, span: Span) -> String {
        let p = self.path(span.file);
        let full = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
        format!("{}:{}", full.display(), span.line)
    }

    /// A file's path relative to the main file's directory when possible.
    pub fn display_path(&self, file: FileId) -> &Path {
        let p = self.path(file);
        p.strip_prefix(&self.conf_prefix).unwrap_or(p)
    }

    /// The children of a block directive (empty for simple directives).
    pub fn children(&self, id: NodeId) -> &[NodeId] {
        let k = self.node(id).kids;
        if k.start == u32::MAX {
            return &[];
        }
        &self.child_ids[k.start as usize..(k.start + k.len) as usize]
    }

    /// Children of `block` (or the main level for `None`) named `name`.
    pub fn find<'a>(
        &'a self,
        block: Option<NodeId>,
        name: &'a str,
    ) -> impl Iterator<Item = NodeId> + 'a {
        let list = match block {
            Some(b) => self.children(b),
            None => &self.root,
        };
        list.iter().copied().filter(move |&c| self.node(c).is(name))
    }

    /// Every directive, depth first in reading order, with its depth.
    pub fn walk(&self) -> Vec<(NodeId, usize)> {
        let mut out = Vec::with_capacity(self.nodes.len());
        let mut stack: Vec<(NodeId, usize)> = self.root.iter().rev().map(|&n| (n, 0)).collect();
        while let Some((id, depth)) = stack.pop() {
            out.push((id, depth));
            for &c in self.children(id).iter().rev() {
                stack.push((c, depth + 1));
            }
        }
        out
    }
}

impl std::fmt::Display for LoadIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoadIssue::IncludeMissing { path, .. } => write!(
                f,
                "include {}: no such file (nginx would refuse to start or reload)",
                path.display()
            ),
            LoadIssue::IncludeUnreadable { path, error, .. } => write!(
                f,
                "include {}: cannot read ({error}); its directives were not checked",
                path.display()
            ),
        }
    }
}
