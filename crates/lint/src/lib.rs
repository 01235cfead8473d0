//! Static analysis of a loaded nginx configuration for 502/504-prone
//! mistakes. Each finding carries a stable lint code ([`Lint`]), a
//! severity, the SPEC root cause the mistake invites, the `file:line` of
//! the directive, a message with the concrete values, an explanation, and
//! the directive line to write instead.
//!
//! The rules follow nginx's real behaviour (inheritance of array
//! directives, version-dependent defaults, what `nginx -t` rejects) and do
//! no I/O: facts about the host (which socket paths exist, what listens)
//! come in as [`HostFacts`], gathered by the caller.
//!
//! ```no_run
//! use badgateway_conf::{LoadOptions, Model, NginxVersion, load_any};
//! let cfg = load_any(std::path::Path::new("/etc/nginx/nginx.conf"), &LoadOptions::default())?;
//! let model = Model::build(cfg, Some(NginxVersion(1, 22, 1)));
//! for f in badgateway_lint::check(&model, &badgateway_lint::HostFacts::default()) {
//!     println!("{}:{}: {} [{}] {}", f.file, f.line, f.severity, f.code, f.message);
//! }
//! # Ok::<(), badgateway_conf::LoadError>(())
//! ```
//!
//! The lint table is in [`codes`]; `LINTS.md` beside this crate documents
//! every lint.

#![deny(missing_docs)]

pub mod codes;
pub mod facts;

mod buffers;
mod errors;
mod host;
mod keepalive;
mod load;
mod pass;
mod refused;
mod timeouts;
mod upstream;
mod util;

use std::path::PathBuf;

use badgateway_cause::{Cause, Severity};
use badgateway_conf::model::{Address, Location, Pass, PassTarget};
use badgateway_conf::{Model, NodeId, Span};
use serde::Serialize;

pub use codes::Lint;
pub use facts::{HostFacts, PathKind};

/// One mistake found in the configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The lint's stable code.
    pub code: Lint,
    /// The SPEC root cause it invites, if any.
    pub cause: Option<Cause>,
    /// How serious it is.
    pub severity: Severity,
    /// The file, as the configuration names it or relative to the main
    /// file's directory.
    pub file: String,
    /// 1-based line of the directive.
    pub line: u32,
    /// 1-based column of the directive.
    pub column: u32,
    /// What is wrong here, with the concrete values.
    pub message: String,
    /// Why it leads to failures (nginx's behaviour).
    pub explanation: String,
    /// What to write instead.
    pub fix: String,
}

/// Run every lint over `model`, with what is known about the host.
/// Findings are sorted by file, line and code, without duplicates (a
/// snippet included in many places is reported once per distinct message).
pub fn check(model: &Model, facts: &HostFacts) -> Vec<Finding> {
    let index = util::Index::new(&model.cfg);
    let mut cx = Cx {
        model,
        facts,
        index: &index,
        out: Vec::new(),
    };
    load::check(&mut cx);
    refused::check(&mut cx);
    pass::check(&mut cx);
    keepalive::check(&mut cx);
    upstream::check(&mut cx);
    host::check(&mut cx);
    timeouts::check(&mut cx);
    buffers::check(&mut cx);
    errors::check(&mut cx);
    let main = model
        .cfg
        .display_path(badgateway_conf::FileId(0))
        .display()
        .to_string();
    let mut out = cx.out;
    out.sort_by(|a, b| {
        (
            a.file != main,
            &a.file,
            a.line,
            a.column,
            a.code,
            &a.message,
        )
            .cmp(&(
                b.file != main,
                &b.file,
                b.line,
                b.column,
                b.code,
                &b.message,
            ))
    });
    out.dedup();
    out
}

/// The unix socket paths the configuration connects to (every `*_pass`,
/// upstream `server` and stream `proxy_pass`), for the caller to look at
/// before calling [`check`].
pub fn socket_paths(model: &Model) -> Vec<PathBuf> {
    let mut out = host::socket_paths(model);
    out.sort();
    out.dedup();
    out
}

/// The checking context: the model, the host facts, and the findings so far.
pub(crate) struct Cx<'m> {
    pub model: &'m Model,
    pub facts: &'m HostFacts,
    pub index: &'m util::Index,
    pub out: Vec<Finding>,
}

impl<'m> Cx<'m> {
    /// Record a finding at `span`.
    pub fn emit(
        &mut self,
        lint: Lint,
        span: Span,
        message: impl Into<String>,
        explanation: impl Into<String>,
        fix: impl Into<String>,
    ) {
        let cfg = &self.model.cfg;
        self.out.push(Finding {
            code: lint,
            cause: lint.cause(),
            severity: lint.severity(),
            file: cfg.display_path(span.file).display().to_string(),
            line: span.line,
            column: span.col,
            message: message.into(),
            explanation: explanation.into(),
            fix: fix.into(),
        });
    }

    /// `file:line` of a span, for messages that point elsewhere.
    pub fn at(&self, span: Span) -> String {
        self.model.cfg.location(span)
    }

    /// The span of a directive.
    pub fn span(&self, id: NodeId) -> Span {
        self.model.cfg.node(id).span()
    }

    /// Every `*_pass` in http locations and `if` blocks.
    pub fn sites(&self) -> Vec<Site<'m>> {
        let mut out = Vec::new();
        let model: &'m Model = self.model;
        let Some(http) = &model.http else {
            return out;
        };
        for server in &http.servers {
            for location in server.all_locations() {
                if let Some(pass) = &location.pass {
                    out.push(Site {
                        location,
                        pass,
                        block: location.node,
                        in_if: false,
                    });
                }
                for i in &location.ifs {
                    if let Some(pass) = &i.pass {
                        out.push(Site {
                            location,
                            pass,
                            block: i.node,
                            in_if: true,
                        });
                    }
                }
            }
        }
        out
    }
}

/// A `*_pass` and where it is.
pub(crate) struct Site<'m> {
    pub location: &'m Location,
    pub pass: &'m Pass,
    /// The block holding the pass (the location, or an `if` inside it):
    /// where effective values are looked up.
    pub block: NodeId,
    /// Whether the pass is inside an `if`.
    pub in_if: bool,
}

impl Site<'_> {
    /// The static TCP host the pass names, if any.
    pub fn tcp_host(&self) -> Option<(&str, Option<u16>)> {
        match &self.pass.target {
            PassTarget::Address {
                address: Address::Tcp { host, port },
            } => Some((host, *port)),
            _ => None,
        }
    }
}
