//! Loading a whole configuration: the main file, then every `include`, the
//! way `ngx_conf_include` does it — relative paths against the main file's
//! directory (nginx's `conf_prefix`, not the including file's directory),
//! `*`, `?` and `[` patterns expanded with glob(3) semantics (sorted, no
//! leading-dot matches, no match is not an error), included statements
//! spliced into the current block. Include cycles are reported with the
//! chain of files.
//!
//! Each file is parsed once into a flat statement list, whose statements
//! are moved straight into the [`Config`] arena as includes are followed.
//! A file included again (the same snippet in hundreds of locations) is
//! parsed a second time and kept; every further copy of it shares that
//! parse's argument words.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use crate::ast::{FileId, Span};
use crate::bytes::Bytes;
use crate::error::{LoadError, ParseError};
use crate::parser::{Item, parse_items};
use crate::prefetch::Prefetch;
use crate::tree::{Config, Kids, LoadIssue, Node, NodeId, SourceFile};

/// A glob matching at least this many new files is parsed in parallel.
const PARALLEL_MIN_FILES: usize = 8;

/// Where config files come from: the filesystem, or an `nginx -T` dump.
pub trait Source {
    /// Read one file.
    fn read(&self, path: &Path) -> io::Result<Vec<u8>>;
    /// Expand a glob pattern into sorted paths (no match is `Ok(vec![])`).
    fn glob(&self, pattern: &Path) -> io::Result<Vec<PathBuf>>;
}

/// The real filesystem.
#[derive(Debug, Default, Clone, Copy)]
pub struct Disk;

/// glob(3) with flags 0, as nginx calls it.
pub fn glob_options() -> glob::MatchOptions {
    glob::MatchOptions {
        case_sensitive: true,
        require_literal_separator: true,
        require_literal_leading_dot: true,
    }
}

impl Source for Disk {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        std::fs::read(path)
    }

    fn glob(&self, pattern: &Path) -> io::Result<Vec<PathBuf>> {
        let pat = pattern.to_string_lossy();
        let paths = glob::glob_with(&pat, glob_options())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
        let mut out: Vec<PathBuf> = paths.filter_map(Result::ok).collect();
        sort_like_glob3(&mut out);
        Ok(out)
    }
}

/// glob(3) sorts whole paths bytewise (nginx runs in the C locale).
pub fn sort_like_glob3(paths: &mut [PathBuf]) {
    use std::os::unix::ffi::OsStrExt;
    paths.sort_by(|a, b| a.as_os_str().as_bytes().cmp(b.as_os_str().as_bytes()));
}

/// Options for [`load`].
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// nginx's `-p` prefix, for resolving relative log and pid paths later.
    pub prefix: Option<PathBuf>,
}

/// Load the configuration rooted at `main` from the filesystem.
pub fn load(main: &Path, opts: &LoadOptions) -> Result<Config, LoadError> {
    load_from(&Disk, main, opts)
}

/// Load the configuration rooted at `main` from any [`Source`].
pub fn load_from(src: &dyn Source, main: &Path, opts: &LoadOptions) -> Result<Config, LoadError> {
    let text = src.read(main).map_err(|source| LoadError::Read {
        path: main.to_path_buf(),
        source,
    })?;
    let conf_prefix = main
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let mut loader = Loader {
        src,
        cfg: Config {
            main_file: main.to_path_buf(),
            conf_prefix,
            prefix: opts.prefix.clone(),
            ..Config::default()
        },
        ids: HashMap::new(),
        state: Vec::new(),
        by_pattern: HashMap::new(),
        chain: Vec::new(),
        kids: Vec::new(),
        open: Vec::new(),
        streams: Vec::new(),
    };
    let (id, items) = loader.parse_file(main.to_path_buf(), text)?;
    loader.chain.push((id, ChainPath::Path(main.to_path_buf())));
    loader.emit(items.into_iter())?;
    let mut cfg = loader.cfg;
    cfg.root = loader.kids;
    Ok(cfg)
}

struct Loader<'s> {
    src: &'s dyn Source,
    cfg: Config,
    /// Every file read (or read ahead), by path.
    ids: HashMap<PathBuf, FileId>,
    /// What is known about each file's statements, by [`FileId`].
    state: Vec<FileState>,
    /// Non-glob `include` arguments already resolved to a file that was read.
    by_pattern: HashMap<Bytes, FileId>,
    /// The files being expanded, outermost first.
    chain: Vec<(FileId, ChainPath)>,
    /// The directives of the blocks being filled, innermost block last.
    kids: Vec<NodeId>,
    /// The blocks being filled: the block, where its directives start in
    /// `kids`, and the index past its last item in its file's item list.
    open: Vec<(NodeId, usize, u32)>,
    /// Large globs being parsed ahead, innermost last.
    streams: Vec<Prefetch>,
}

enum FileState {
    /// Read ahead (a large glob), to be parsed when included.
    Read,
    /// Handed to a worker thread (a large glob), not yet back.
    Queued,
    /// Parsed ahead (a large glob), not yet included.
    Prefetched(Result<Vec<Item>, ParseError>),
    /// Included once: its items were moved into the arena.
    Used,
    /// Included more than once: its items, parsed again, shared by the copies.
    Cached(Rc<[Item]>),
}

/// How a file in the include chain was named, for the cycle message.
enum ChainPath {
    Path(PathBuf),
    /// A non-glob `include` argument (resolved against the prefix).
    Pattern(Bytes),
}

fn is_glob(pattern: &[u8]) -> bool {
    pattern.iter().any(|b| matches!(b, b'*' | b'?' | b'['))
}

/// Deeper include nesting than this is reported as a cycle (one that runs
/// through symlinks or `..` spellings of the same file); real configs nest
/// a few levels.
const MAX_INCLUDE_DEPTH: usize = 64;

impl Loader<'_> {
    fn next_file_id(&self) -> FileId {
        FileId(u32::try_from(self.cfg.files.len()).expect("fewer than 2^32 files"))
    }

    fn add_file(&mut self, path: PathBuf, text: Vec<u8>, state: FileState) -> FileId {
        let id = self.next_file_id();
        self.ids.insert(path.clone(), id);
        self.cfg.files.push(SourceFile { path, text });
        self.state.push(state);
        id
    }

    fn parse_file(
        &mut self,
        path: PathBuf,
        text: Vec<u8>,
    ) -> Result<(FileId, Vec<Item>), LoadError> {
        let items = parse_items(&text, self.next_file_id()).map_err(|e| LoadError::Syntax {
            path: path.clone(),
            line: e.line,
            col: e.col,
            kind: e.kind,
        })?;
        let id = self.add_file(path, text, FileState::Used);
        Ok((id, items))
    }

    /// Move one file's items into the arena under the current block,
    /// following includes as they come.
    fn emit(&mut self, items: impl Iterator<Item = Item>) -> Result<(), LoadError> {
        let base = self.open.len();
        for (i, item) in items.enumerate() {
            self.close_until(base, i);
            let id =
                NodeId(u32::try_from(self.cfg.nodes.len()).expect("fewer than 2^32 directives"));
            let parent = self.open.last().map(|o| o.0);
            let include = (!item.is_block() && item.args.len() == 1 && item.name.is("include"))
                .then(|| (item.name.span, item.args[0].value.clone()));
            let end = item.end;
            self.cfg.nodes.push(Node {
                name: item.name,
                args: item.args,
                parent,
                kids: Kids::NONE,
            });
            self.kids.push(id);
            if end != 0 {
                self.open.push((id, self.kids.len(), end));
            } else if let Some((at, pattern)) = include {
                self.include(at, pattern)?;
            }
        }
        self.close_until(base, usize::MAX);
        Ok(())
    }

    /// Close the blocks opened by the current file (those above `base`)
    /// that end before item `i`.
    fn close_until(&mut self, base: usize, i: usize) {
        while self.open.len() > base {
            let &(id, mark, end) = self.open.last().expect("an open block");
            if i != usize::MAX && end as usize != i {
                return;
            }
            self.open.pop();
            let start = self.cfg.child_ids.len();
            self.cfg.child_ids.extend_from_slice(&self.kids[mark..]);
            self.kids.truncate(mark);
            self.cfg.nodes[id.0 as usize].kids = Kids {
                start: u32::try_from(start).expect("fewer than 2^32 directives"),
                len: u32::try_from(self.cfg.child_ids.len() - start)
                    .expect("fewer than 2^32 directives"),
            };
        }
    }

    fn resolve(&self, pattern: &[u8]) -> PathBuf {
        use std::os::unix::ffi::OsStrExt;
        let p = Path::new(std::ffi::OsStr::from_bytes(pattern));
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.cfg.conf_prefix.join(p)
        }
    }

    fn include(&mut self, at: Span, pattern: Bytes) -> Result<(), LoadError> {
        if !is_glob(&pattern) {
            if let Some(&id) = self.by_pattern.get(&pattern) {
                self.check_chain(at, Some(id), || ChainPath::Pattern(pattern.clone()))?;
                return self.include_known(id, ChainPath::Pattern(pattern));
            }
            let path = self.resolve(&pattern);
            if let Some(id) = self.include_one(at, path)? {
                self.by_pattern.insert(pattern, id);
            }
            return Ok(());
        }
        let path = self.resolve(&pattern);
        let files = match self.src.glob(&path) {
            Ok(files) => files,
            Err(e) => {
                self.cfg.issues.push(LoadIssue::IncludeUnreadable {
                    at,
                    path,
                    error: e.to_string(),
                });
                return Ok(());
            }
        };
        let streamed = self.prefetch(&files);
        let mut r = Ok(());
        for file in files {
            r = self.include_one(at, file).map(drop);
            if r.is_err() {
                break;
            }
        }
        if streamed {
            self.streams.pop();
        }
        r
    }

    /// Hand the not-yet-seen files of a large glob to worker threads as
    /// they are read; [`Self::include_known`] takes them back in order, so
    /// errors and file ids come out as if parsed one by one. Returns
    /// whether workers were started.
    fn prefetch(&mut self, files: &[PathBuf]) -> bool {
        let todo: Vec<&PathBuf> = files
            .iter()
            .filter(|f| !self.ids.contains_key(*f))
            .collect();
        let workers = std::thread::available_parallelism().map_or(1, |n| n.get().min(8)) - 1;
        if todo.len() < PARALLEL_MIN_FILES || workers == 0 {
            return false;
        }
        let Some(mut stream) = Prefetch::start(workers) else {
            return false;
        };
        // With a single worker, this thread parses every third file itself
        // between splicing the others, which keeps both cores busy.
        let keep = if workers == 1 { 3 } else { usize::MAX };
        for (n, f) in todo.into_iter().enumerate() {
            if let Ok(text) = self.src.read(f) {
                if n % keep == keep - 1 {
                    self.add_file(f.clone(), text, FileState::Read);
                } else {
                    // The text comes back with the parse.
                    let id = self.add_file(f.clone(), Vec::new(), FileState::Queued);
                    stream.send(id, text);
                }
            }
        }
        stream.close();
        self.streams.push(stream);
        true
    }

    /// Wait for a queued file's parse; files of the same worker that come
    /// back first are kept for later.
    fn fetch(&mut self, id: FileId) -> Result<Vec<Item>, ParseError> {
        let (s, w) = self
            .streams
            .iter()
            .enumerate()
            .rev()
            .find_map(|(s, p)| Some((s, p.worker_of(id)?)))
            .expect("a queued file belongs to a stream");
        loop {
            let parsed = self.streams[s].next_from(w);
            let i = parsed.id.0 as usize;
            self.cfg.files[i].text = parsed.text;
            if parsed.id == id {
                return parsed.items;
            }
            self.state[i] = FileState::Prefetched(parsed.items);
        }
    }

    /// Fail if including `file` (known as `id`, when it has been read)
    /// would close a cycle or nest too deep.
    fn check_chain(
        &self,
        at: Span,
        id: Option<FileId>,
        file: impl FnOnce() -> ChainPath,
    ) -> Result<(), LoadError> {
        let repeat = id.and_then(|id| self.chain.iter().position(|l| l.0 == id));
        let too_deep = (self.chain.len() >= MAX_INCLUDE_DEPTH).then_some(0);
        let Some(pos) = repeat.or(too_deep) else {
            return Ok(());
        };
        let mut chain: Vec<String> = self.chain[pos..]
            .iter()
            .map(|l| self.chain_display(&l.1))
            .collect();
        chain.push(self.chain_display(&file()));
        Err(LoadError::IncludeCycle {
            path: self.cfg.path(at.file).to_path_buf(),
            line: at.line,
            chain,
        })
    }

    fn chain_display(&self, p: &ChainPath) -> String {
        match p {
            ChainPath::Path(p) => p.display().to_string(),
            ChainPath::Pattern(b) => self.resolve(b).display().to_string(),
        }
    }

    /// Include one file by path; returns its id when it could be read.
    fn include_one(&mut self, at: Span, file: PathBuf) -> Result<Option<FileId>, LoadError> {
        let known = self.ids.get(&file).copied();
        self.check_chain(at, known, || ChainPath::Path(file.clone()))?;
        if let Some(id) = known {
            self.include_known(id, ChainPath::Path(file))?;
            return Ok(Some(id));
        }
        let text = match self.src.read(&file) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                self.cfg
                    .issues
                    .push(LoadIssue::IncludeMissing { at, path: file });
                return Ok(None);
            }
            Err(e) => {
                self.cfg.issues.push(LoadIssue::IncludeUnreadable {
                    at,
                    path: file,
                    error: e.to_string(),
                });
                return Ok(None);
            }
        };
        let (id, items) = self.parse_file(file.clone(), text)?;
        self.chain.push((id, ChainPath::Path(file)));
        self.emit(items.into_iter())?;
        self.chain.pop();
        Ok(Some(id))
    }

    /// Include a file that has been read before (the chain is checked).
    fn include_known(&mut self, id: FileId, name: ChainPath) -> Result<(), LoadError> {
        let i = id.0 as usize;
        match self.state[i] {
            FileState::Queued => self.state[i] = FileState::Prefetched(self.fetch(id)),
            FileState::Read => {
                self.state[i] = FileState::Prefetched(parse_items(&self.cfg.files[i].text, id))
            }
            _ => {}
        }
        if let FileState::Prefetched(Err(e)) = &self.state[i] {
            return Err(LoadError::Syntax {
                path: match &name {
                    ChainPath::Path(p) => p.clone(),
                    ChainPath::Pattern(b) => self.resolve(b),
                },
                line: e.line,
                col: e.col,
                kind: e.kind.clone(),
            });
        }
        self.chain.push((id, name));
        match std::mem::replace(&mut self.state[i], FileState::Used) {
            FileState::Prefetched(parsed) => {
                let items = parsed.expect("syntax errors are returned above");
                self.emit(items.into_iter())?;
            }
            FileState::Queued | FileState::Read => unreachable!("parsed above"),
            FileState::Used => {
                let items: Rc<[Item]> = parse_items(&self.cfg.files[i].text, id)
                    .expect("a file that parsed once parses again")
                    .into();
                self.state[i] = FileState::Cached(Rc::clone(&items));
                self.emit(items.iter().cloned())?;
            }
            FileState::Cached(items) => {
                self.state[i] = FileState::Cached(Rc::clone(&items));
                self.emit(items.iter().cloned())?;
            }
        }
        self.chain.pop();
        Ok(())
    }
}
