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
use crate::parser::parse;
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
    /// Files already parsed (nginx parses a file again at each include; the
    /// result is the same, so parse once and clone).
    parsed: HashMap<PathBuf, (FileId, Vec<Stmt>)>,
    /// The files being expanded, outermost first.
    chain: Vec<ChainLink>,
}

struct ChainLink {
    path: PathBuf,
    /// The path with symlinks resolved, to recognise a cycle through links.
    key: PathBuf,
}

impl ChainLink {
    fn new(path: &Path) -> Self {
        ChainLink {
            path: path.to_path_buf(),
            key: std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf()),
        }
    }
}

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
        self.parsed.insert(path, (id, stmts.clone()));
        Ok(stmts)
    }

    /// Splice every `include` (at any depth) into its block.
    fn expand(&mut self, stmts: Vec<Stmt>) -> Result<Vec<Stmt>, LoadError> {
        let mut out = Vec::with_capacity(stmts.len());
        for mut s in stmts {
            if let Some(block) = s.block.take() {
                s.block = Some(self.expand(block)?);
                out.push(s);
                continue;
            }
            let is_include = s.name.is("include") && s.args.len() == 1;
            let at = s.name.span;
            let pattern = is_include.then(|| s.args[0].value.clone());
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
        let mut out = Vec::with_capacity(files.len());
        for file in files {
            if let Some(stmts) = self.include_one(at, file)? {
                out.push(stmts);
            }
        }
        Ok(out)
    }

    fn include_one(&mut self, at: Span, file: PathBuf) -> Result<Option<Vec<Stmt>>, LoadError> {
        let link = ChainLink::new(&file);
        if let Some(pos) = self.chain.iter().position(|l| l.key == link.key) {
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
        let stmts = if let Some((_, stmts)) = self.parsed.get(&file) {
            stmts.clone()
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
