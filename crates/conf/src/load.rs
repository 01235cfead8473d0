//! Loading a whole configuration: the main file, then every `include`, the
//! way `ngx_conf_include` does it — relative paths against the main file's
//! directory (nginx's `conf_prefix`, not the including file's directory),
//! `*`, `?` and `[` patterns expanded with glob(3) semantics (sorted, no
//! leading-dot matches, no match is not an error), included statements
//! spliced into the current block. Include cycles are reported with the
//! chain of files.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};

use crate::ast::{FileId, Span, Stmt};
use crate::error::LoadError;
use crate::error::ParseError;
use crate::parser::{parse, parse_many};

/// A glob matching at least this many new files is parsed in parallel.
const PARALLEL_MIN_FILES: usize = 8;
use crate::tree::{Config, LoadIssue, SourceFile};

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
        parsed: HashMap::new(),
        prefetched: HashMap::new(),
        chain: Vec::new(),
    };
    let stmts = loader.parse_file(main.to_path_buf(), text)?;
    loader.chain.push(ChainLink::new(main));
    let stmts = loader.expand(stmts)?;
    let mut cfg = loader.cfg;
    cfg.root = cfg.add_stmts(stmts, None);
    Ok(cfg)
}

struct Loader<'s> {
    src: &'s dyn Source,
    cfg: Config,
    /// Files already read. A file included a second time is parsed again
    /// and its tree kept, so later includes (the same snippet in hundreds
    /// of locations) are copies rather than parses.
    parsed: HashMap<PathBuf, (FileId, Option<Vec<Stmt>>)>,
    /// Files of a large glob read and parsed ahead, in parallel.
    prefetched: HashMap<PathBuf, (FileId, Result<Vec<Stmt>, ParseError>)>,
    /// The files being expanded, outermost first.
    chain: Vec<ChainLink>,
}

fn is_include(s: &Stmt) -> bool {
    s.block.is_none() && s.args.len() == 1 && s.name.is("include")
}

struct ChainLink {
    path: PathBuf,
}

impl ChainLink {
    fn new(path: &Path) -> Self {
        ChainLink {
            path: path.to_path_buf(),
        }
    }
}

/// Deeper include nesting than this is reported as a cycle (one that runs
/// through symlinks or `..` spellings of the same file); real configs nest
/// a few levels.
const MAX_INCLUDE_DEPTH: usize = 64;

impl Loader<'_> {
    fn parse_file(&mut self, path: PathBuf, text: Vec<u8>) -> Result<Vec<Stmt>, LoadError> {
        let id = FileId(u32::try_from(self.cfg.files.len()).expect("fewer than 2^32 files"));
        let stmts = parse(&text, id).map_err(|e| LoadError::Syntax {
            path: path.clone(),
            line: e.line,
            col: e.col,
            kind: e.kind,
        })?;
        self.cfg.files.push(SourceFile {
            path: path.clone(),
            text,
        });
        self.parsed.insert(path, (id, None));
        Ok(stmts)
    }

    /// Splice every `include` (at any depth) into its block. Blocks without
    /// includes are left where they are.
    fn expand(&mut self, mut stmts: Vec<Stmt>) -> Result<Vec<Stmt>, LoadError> {
        for s in &mut stmts {
            if let Some(block) = s.block.take() {
                s.block = Some(self.expand(block)?);
            }
        }
        if !stmts.iter().any(is_include) {
            return Ok(stmts);
        }
        let mut out = Vec::with_capacity(stmts.len() + 16);
        for s in stmts {
            let pattern = is_include(&s).then(|| s.args[0].value.clone());
            let at = s.name.span;
            out.push(s);
            if let Some(pattern) = pattern {
                for file_stmts in self.include(at, &pattern)? {
                    out.extend(file_stmts);
                }
            }
        }
        Ok(out)
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

    fn include(&mut self, at: Span, pattern: &[u8]) -> Result<Vec<Vec<Stmt>>, LoadError> {
        let path = self.resolve(pattern);
        let files = if pattern.iter().any(|b| matches!(b, b'*' | b'?' | b'[')) {
            match self.src.glob(&path) {
                Ok(files) => files,
                Err(e) => {
                    self.cfg.issues.push(LoadIssue::IncludeUnreadable {
                        at,
                        path,
                        error: e.to_string(),
                    });
                    return Ok(Vec::new());
                }
            }
        } else {
            vec![path]
        };
        self.prefetch(&files);
        let mut out = Vec::with_capacity(files.len());
        for file in files {
            if let Some(stmts) = self.include_one(at, file)? {
                out.push(stmts);
            }
        }
        Ok(out)
    }

    /// Read the not-yet-seen files of a large glob and parse them on all
    /// cores; [`Self::include_one`] then takes the results in order, so
    /// errors and file ids come out as if parsed one by one.
    fn prefetch(&mut self, files: &[PathBuf]) {
        let todo: Vec<&PathBuf> = files
            .iter()
            .filter(|f| !self.parsed.contains_key(*f) && !self.prefetched.contains_key(*f))
            .collect();
        if todo.len() < PARALLEL_MIN_FILES {
            return;
        }
        let mut jobs = Vec::with_capacity(todo.len());
        for f in todo {
            if let Ok(text) = self.src.read(f) {
                let id =
                    FileId(u32::try_from(self.cfg.files.len()).expect("fewer than 2^32 files"));
                self.cfg.files.push(SourceFile {
                    path: f.clone(),
                    text,
                });
                jobs.push((f.clone(), id));
            }
        }
        let inputs: Vec<(FileId, &[u8])> = jobs
            .iter()
            .map(|(_, id)| (*id, &self.cfg.files[id.0 as usize].text[..]))
            .collect();
        let results = parse_many(&inputs);
        for ((path, id), r) in jobs.into_iter().zip(results) {
            self.prefetched.insert(path, (id, r));
        }
    }

    fn include_one(&mut self, at: Span, file: PathBuf) -> Result<Option<Vec<Stmt>>, LoadError> {
        let link = ChainLink::new(&file);
        let repeat = self.chain.iter().position(|l| l.path == link.path);
        let too_deep = (self.chain.len() >= MAX_INCLUDE_DEPTH).then_some(0);
        if let Some(pos) = repeat.or(too_deep) {
            let mut chain: Vec<String> = self.chain[pos..]
                .iter()
                .map(|l| l.path.display().to_string())
                .collect();
            chain.push(file.display().to_string());
            let including = self.cfg.path(at.file).to_path_buf();
            return Err(LoadError::IncludeCycle {
                path: including,
                line: at.line,
                chain,
            });
        }
        let stmts = if let Some((id, parsed)) = self.prefetched.remove(&file) {
            self.parsed.insert(file.clone(), (id, None));
            parsed.map_err(|e| LoadError::Syntax {
                path: file.clone(),
                line: e.line,
                col: e.col,
                kind: e.kind,
            })?
        } else if let Some((id, cached)) = self.parsed.get_mut(&file) {
            match cached {
                Some(tree) => tree.clone(),
                None => {
                    let text = &self.cfg.files[id.0 as usize].text;
                    let tree = parse(text, *id).expect("a file that parsed once parses again");
                    *cached = Some(tree.clone());
                    tree
                }
            }
        } else {
            match self.src.read(&file) {
                Ok(text) => self.parse_file(file.clone(), text)?,
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
            }
        };
        self.chain.push(link);
        let expanded = self.expand(stmts)?;
        self.chain.pop();
        Ok(Some(expanded))
    }
}
