//! The semantic model: what nginx will do with the loaded tree. Servers with
//! their listen sockets and names, locations (nested, named, regex), every
//! `*_pass` resolved to an upstream group or an address, upstream blocks,
//! logs, worker limits — and the **effective** value of any directive at any
//! block, following nginx's inheritance rule: a block inherits a directive
//! from the nearest enclosing block that sets it, and a block that sets it
//! at all replaces the inherited set wholesale (the `proxy_set_header` /
//! `add_header` gotcha).

pub mod addr;
pub mod defaults;
pub mod http;
pub mod upstream;
pub mod values;

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use serde::Serialize;

pub use addr::{AddrError, Address};
pub use http::{Http, IfBlock, Listen, Location, Modifier, Server, Stream, StreamServer};
pub use upstream::{Pass, PassModule, PassTarget, Protocol, Upstream, UpstreamServer};
pub use values::NginxVersion;

use crate::ast::Span;
use crate::tree::{Config, NodeId};

/// The configuration as nginx will run it.
#[derive(Debug, Clone)]
pub struct Model {
    /// The loaded tree (spans, files, raw directives).
    pub cfg: Config,
    /// The nginx version the defaults follow (`None`: unknown).
    pub version: Option<NginxVersion>,
    /// Main and events context.
    pub main: Main,
    /// The `http {}` block, if any.
    pub http: Option<Http>,
    /// The `stream {}` block, if any.
    pub stream: Option<Stream>,
}

/// Main-context and `events {}` settings.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Main {
    /// `user USER [GROUP]` (nginx's default is `nobody`, used only when the master runs as root).
    pub user: Option<(String, Option<String>)>,
    /// `worker_processes` as written (`auto` or a number).
    pub worker_processes: Option<String>,
    /// `worker_rlimit_nofile`.
    pub worker_rlimit_nofile: Option<u64>,
    /// `worker_connections` (nginx's default is 512).
    pub worker_connections: Option<u64>,
    /// `pid` path as written.
    pub pid: Option<String>,
}

/// An `error_log` directive.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorLog {
    /// The directive.
    #[serde(skip)]
    pub node: NodeId,
    /// Target as written (`/var/log/nginx/error.log`, `stderr`, `syslog:…`, `memory:…`).
    pub target: String,
    /// Level (`error` when not written).
    pub level: String,
}

/// An `access_log` directive.
#[derive(Debug, Clone, Serialize)]
pub struct AccessLog {
    /// The directive.
    #[serde(skip)]
    pub node: NodeId,
    /// Path as written, or `off`.
    pub target: String,
    /// Format name (`combined` when not written).
    pub format: String,
}

/// A `log_format NAME [escape=…] STRING…` definition.
#[derive(Debug, Clone, Serialize)]
pub struct LogFormat {
    /// The directive.
    #[serde(skip)]
    pub node: NodeId,
    /// Its name.
    pub name: String,
    /// `default`, `json` or `none`.
    pub escape: String,
    /// The format: the strings concatenated, as nginx does.
    pub format: String,
}

/// The effective setting of a directive at some block.
#[derive(Debug, Clone)]
pub struct Effective<'a> {
    /// The directives in force (all from the same block).
    pub nodes: Cow<'a, [NodeId]>,
    /// The block they are in (`None`: main level).
    pub level: Option<NodeId>,
    cfg: &'a Config,
}

impl<'a> Effective<'a> {
    /// The directives `nodes` of `cfg`, in force from block `level` (for
    /// callers with their own directive index).
    pub fn new(cfg: &'a Config, level: Option<NodeId>, nodes: Cow<'a, [NodeId]>) -> Self {
        Effective { nodes, level, cfg }
    }

    /// The first directive's arguments as text.
    pub fn args(&self) -> Vec<String> {
        self.nodes
            .first()
            .map(|&n| {
                self.cfg
                    .node(n)
                    .args
                    .iter()
                    .map(|w| w.text().into_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The first argument of the first directive.
    pub fn first(&self) -> Option<String> {
        let n = *self.nodes.first()?;
        self.cfg.node(n).arg(0).map(|a| a.into_owned())
    }

    /// Where the (first) directive is.
    pub fn span(&self) -> Option<Span> {
        self.nodes.first().map(|&n| self.cfg.node(n).span())
    }
}

impl Model {
    /// Build the model of a loaded config. `version` selects the defaults
    /// that changed between nginx releases.
    pub fn build(cfg: Config, version: Option<NginxVersion>) -> Model {
        let main = read_main(&cfg);
        let http = cfg
            .find(None, "http")
            .next()
            .map(|h| http::read_http(&cfg, h));
        let stream = cfg
            .find(None, "stream")
            .next()
            .map(|s| http::read_stream(&cfg, s));
        Model {
            cfg,
            version,
            main,
            http,
            stream,
        }
    }

    /// The directives named `name` in force at block `at` (a location, `if`,
    /// server, upstream, http…): those of the nearest block, starting with
    /// `at` itself, that has any.
    pub fn effective(&self, at: NodeId, name: &str) -> Option<Effective<'_>> {
        let mut cur = Some(at);
        while let Some(b) = cur {
            let nodes: Vec<NodeId> = self.cfg.find(Some(b), name).collect();
            if !nodes.is_empty() {
                return Some(Effective::new(&self.cfg, Some(b), nodes.into()));
            }
            cur = self.cfg.node(b).parent;
        }
        let nodes: Vec<NodeId> = self.cfg.find(None, name).collect();
        (!nodes.is_empty()).then(|| Effective::new(&self.cfg, None, nodes.into()))
    }

    /// The effective value of a single-valued directive at `at`: its first
    /// argument and where it is set, or nginx's default (no span).
    pub fn value(&self, at: NodeId, name: &str) -> (Option<String>, Option<Span>) {
        match self.effective(at, name) {
            Some(e) => (e.first(), e.span()),
            None => (
                defaults::default_value(name, self.version).map(str::to_owned),
                None,
            ),
        }
    }

    /// Every `error_log` anywhere in the tree.
    pub fn error_logs(&self) -> Vec<ErrorLog> {
        self.named("error_log")
            .map(|id| {
                let n = self.cfg.node(id);
                ErrorLog {
                    node: id,
                    target: n.arg(0).unwrap_or_default().into_owned(),
                    level: n
                        .arg(1)
                        .map_or_else(|| "error".to_owned(), |l| l.into_owned()),
                }
            })
            .collect()
    }

    /// Every `access_log` anywhere in the tree (including `off`).
    pub fn access_logs(&self) -> Vec<AccessLog> {
        self.named("access_log")
            .map(|id| {
                let n = self.cfg.node(id);
                let target = n.arg(0).unwrap_or_default().into_owned();
                let format = n
                    .args
                    .get(1)
                    .map(|w| w.text().into_owned())
                    .filter(|f| !f.contains('='))
                    .unwrap_or_else(|| "combined".to_owned());
                AccessLog {
                    node: id,
                    target,
                    format,
                }
            })
            .collect()
    }

    /// Every `log_format` definition in `http`.
    pub fn log_formats(&self) -> Vec<LogFormat> {
        self.named("log_format")
            .filter_map(|id| {
                let n = self.cfg.node(id);
                let name = n.arg(0)?.into_owned();
                let mut rest: Vec<String> = n
                    .args
                    .iter()
                    .skip(1)
                    .map(|w| w.text().into_owned())
                    .collect();
                let escape = match rest.first().and_then(|a| a.strip_prefix("escape=")) {
                    Some(e) => {
                        let e = e.to_owned();
                        rest.remove(0);
                        e
                    }
                    None => "default".to_owned(),
                };
                Some(LogFormat {
                    node: id,
                    name,
                    escape,
                    format: rest.concat(),
                })
            })
            .collect()
    }

    fn named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = NodeId> + 'a {
        self.cfg
            .walk()
            .into_iter()
            .map(|(id, _)| id)
            .filter(move |&id| self.cfg.node(id).is(name))
    }

    /// Resolve a path written in the config the way nginx does: absolute
    /// stays, relative is under the prefix (`-p`; when unknown, the main
    /// file's directory — Debian's packaged nginx writes absolute paths).
    pub fn resolve_path(&self, p: &str) -> PathBuf {
        let path = Path::new(p);
        if path.is_absolute() {
            return path.to_path_buf();
        }
        self.cfg
            .prefix
            .as_ref()
            .unwrap_or(&self.cfg.conf_prefix)
            .join(path)
    }

    /// Every `*_pass` in http locations, with the location it is in.
    pub fn passes(&self) -> Vec<(&Location, &Pass)> {
        let mut out = Vec::new();
        if let Some(h) = &self.http {
            for s in &h.servers {
                for l in s.all_locations() {
                    if let Some(p) = &l.pass {
                        out.push((l, p));
                    }
                    for i in &l.ifs {
                        if let Some(p) = &i.pass {
                            out.push((l, p));
                        }
                    }
                }
            }
        }
        out
    }
}

fn read_main(cfg: &Config) -> Main {
    let arg = |name: &str, i: usize| {
        cfg.find(None, name)
            .next()
            .and_then(|id| cfg.node(id).arg(i).map(|a| a.into_owned()))
    };
    let events = cfg.find(None, "events").next();
    Main {
        user: arg("user", 0).map(|u| (u, arg("user", 1))),
        worker_processes: arg("worker_processes", 0),
        worker_rlimit_nofile: arg("worker_rlimit_nofile", 0).and_then(|v| v.parse().ok()),
        worker_connections: events.and_then(|e| {
            cfg.find(Some(e), "worker_connections")
                .next()
                .and_then(|id| cfg.node(id).arg(0)?.parse().ok())
        }),
        pid: arg("pid", 0),
    }
}
