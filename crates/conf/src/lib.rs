//! nginx configuration: a lexer and parser faithful to nginx's own
//! `ngx_conf_read_token` ([`lexer`], [`lua`], [`parser`]), include
//! resolution with globs and cycle detection ([`load`]), `nginx -T` dumps
//! ([`dump`]), and a semantic model with the effective value of every
//! directive at each location ([`model`]).
//!
//! ```no_run
//! let cfg = badgateway_conf::load(std::path::Path::new("/etc/nginx/nginx.conf"),
//!                                 &badgateway_conf::LoadOptions::default())?;
//! for issue in &cfg.issues { eprintln!("{issue}"); }
//! # Ok::<(), badgateway_conf::LoadError>(())
//! ```

pub mod ast;
pub mod bytes;
pub mod dump;
pub mod error;
mod fastlex;
pub mod lexer;
pub mod load;
pub mod lua;
pub mod model;
pub mod parser;
mod prefetch;
pub mod tree;

pub use ast::{FileId, Quote, Span, Stmt, Word};
pub use dump::Dump;
pub use error::{LoadError, ParseError, SyntaxError};
pub use load::{Disk, LoadOptions, Source, load, load_from};
pub use model::{Model, NginxVersion};
pub use parser::parse;
pub use tree::{Config, LoadIssue, Node, NodeId, SourceFile};

/// Load a config from a file that may be either a main config file or an
/// `nginx -T` dump (detected by its `# configuration file` headers).
pub fn load_any(path: &std::path::Path, opts: &LoadOptions) -> Result<Config, LoadError> {
    let text = std::fs::read(path).map_err(|source| LoadError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    if dump::looks_like_dump(&text) {
        let d = Dump::parse(&text).ok_or_else(|| LoadError::NotADump {
            path: path.to_path_buf(),
        })?;
        let main = d.main().to_path_buf();
        return load_from(&d, &main, opts);
    }
    load(path, opts)
}

#[cfg(test)]
mod tests_lexer;
