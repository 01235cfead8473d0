//! Request routing as nginx does it: which `server` block (listen address,
//! `default_server`, exact/wildcard/regex `server_name`) and which `location`
//! (`=`, `^~`, longest prefix, regexes in order, nested and named locations) a
//! request matches, what the rewrite module does to it on the way, and the
//! exact upstream request it becomes after `proxy_pass` URI rewriting.
//!
//! ```no_run
//! use badgateway_conf::{LoadOptions, Model, load_any};
//! use badgateway_route::{Request, Url, route};
//!
//! let cfg = load_any("/etc/nginx/nginx.conf".as_ref(), &LoadOptions::default())?;
//! let model = Model::build(cfg, None);
//! let req = Request::get(Url::parse("http://example.com/api/x?y=1")?);
//! let r = route(&model, &req);
//! if let Some(p) = &r.pass {
//!     println!("{} -> {:?} {:?}", p.target, p.servers, p.upstream_uri);
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Everything is computed from the configuration alone: no file, socket or
//! DNS name is looked at. What depends on them (`try_files`, `if (-f …)`,
//! `$remote_addr`, names resolved at start-up) is reported in
//! [`Route::uncertain`] or as [`Route::alternatives`], never guessed.
//!
//! Regexes are evaluated with `regex-lite` in byte mode (see [`regex`]);
//! PCRE features it lacks (look-around, back-references, atomic groups,
//! possessive quantifiers) make the regex "not evaluated", reported as such.

mod content;
mod flow;
pub mod location;
mod pass;
pub mod regex;
mod script;
pub mod server;
pub mod types;
pub mod uri;
pub mod url;
mod variables;
pub mod vars;

pub use flow::route;
pub use types::{Alternative, LocationHit, PassHit, Peer, RequestInfo, Route, ServerHit, Step};
pub use url::{Request, Scheme, Url, UrlError, parse_header};
