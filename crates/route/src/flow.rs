//! The request's path through nginx's phases: server selection, the
//! server-level rewrite phase, location search (repeated after `rewrite …
//! last`, at most 10 URI changes), the location's rewrite phase (`rewrite`,
//! `return`, `set`, `if`, `break`), access (`internal`, `deny all`),
//! `try_files`, and the content handler (`*_pass` or static files).

use std::collections::HashMap;

use badgateway_conf::model::{Http, Location, Modifier, Pass, Server};
use badgateway_conf::tree::NodeId;
use badgateway_conf::{Model, Span};

use crate::location::{self, How};
use crate::regex::Captures;
use crate::server;
use crate::types::{Alternative, LocationHit, RequestInfo, Route, ServerHit, Step};
use crate::uri;
use crate::url::Request;

/// nginx's `NGX_HTTP_MAX_URI_CHANGES`.
const MAX_URI_CHANGES: u32 = 10;

/// Mutable per-request state (nginx's `ngx_http_request_t` fields that
/// matter for routing).
#[derive(Debug, Clone)]
pub(crate) struct St {
    pub uri: Vec<u8>,
    pub args: Vec<u8>,
    pub quoted: bool,
    pub plus: bool,
    pub internal: bool,
    pub valid_unparsed_uri: bool,
    pub valid_location: bool,
    pub uri_changed: bool,
    pub uri_changes: u32,
    pub captures: Vec<Option<Vec<u8>>>,
    pub named: Vec<(String, Vec<u8>)>,
    /// `set` variables (`Err`: could not be evaluated, with why).
    pub vars: HashMap<String, Result<Vec<u8>, String>>,
}

impl St {
    pub fn set_captures(&mut self, c: Captures) {
        for (k, v) in &c.named {
            self.named.retain(|(n, _)| n != k);
            self.named.push((k.clone(), v.clone()));
        }
        self.captures = c.groups;
    }
}

/// What a rewrite script concluded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Flow {
    /// Ran to the end.
    Next,
    /// `rewrite … last` (or a URI change): search locations again.
    Last,
    /// `break` / `rewrite … break`: stay in this location.
    Break,
    /// nginx answers itself.
    Answer {
        status: u16,
        redirect: Option<String>,
        body: Option<String>,
    },
}

/// One routing run.
pub(crate) struct Router<'m> {
    pub model: &'m Model,
    pub http: &'m Http,
    pub req: &'m Request,
    pub server: &'m Server,
    pub listen_port: u16,
    pub host: String,
    pub st: St,
    pub loc: Option<&'m Location>,
    /// The configuration block in charge (location, or `if` inside it).
    pub conf: NodeId,
    /// The `*_pass` of a true `if` block, overriding the location's.
    pub if_pass: Option<&'m Pass>,
    pub out: Route,
    pub loc_hit: Option<LocationHit>,
    /// Depth of alternative exploration (alternatives of alternatives are not computed).
    pub depth: u32,
    /// Nesting of variable evaluation (a `map` or `set` that refers to itself).
    pub eval_depth: u32,
}

/// Route `req` through `model`.
pub fn route(model: &Model, req: &Request) -> Route {
    let url = &req.url;
    let mut out = Route {
        version: 1,
        request: RequestInfo {
            method: req.method.clone(),
            url: url.text.clone(),
            connect: match url.ip() {
                Some(ip) if ip.is_ipv6() => format!("[{ip}]:{}", url.port),
                Some(ip) => format!("{ip}:{}", url.port),
                None => format!("{}:{}", url.host, url.port),
            },
            host_header: req.header("host").unwrap_or_default(),
            request_uri: String::from_utf8_lossy(&url.target).into_owned(),
            uri: String::new(),
            args: String::new(),
        },
        server: None,
        location: None,
        pass: None,
        status: None,
        redirect: None,
        body: None,
        steps: Vec::new(),
        alternatives: Vec::new(),
        warnings: Vec::new(),
        uncertain: Vec::new(),
    };
    let Some(http) = &model.http else {
        out.warnings
            .push("the configuration has no http {} block: nginx serves no HTTP".into());
        return out;
    };
    let sock = match server::socket(http, url) {
        Ok(s) => s,
        Err(why) => {
            out.warnings
                .push(format!("{why}: the connection is refused"));
            return out;
        }
    };
    if let Some(a) = &sock.assumed {
        out.uncertain.push(a.clone());
    }
    // The URI is parsed with the default server's settings, before the
    // Host header is looked at.
    let default = &http.servers[sock.default];
    let merge = model.value(default.node, "merge_slashes").0.as_deref() != Some("off");
    let target = uri::normalize(&url.target, merge);
    let host_raw = req.header("host").unwrap_or_default();
    let host = server::normalize_host(&host_raw);
    let (m, bad) = match (&target, &host) {
        (Ok(_), Ok(h)) => (server::by_name(&http.servers, &sock, h), None),
        (Err(e), _) => (
            server::by_name(&http.servers, &sock, ""),
            Some(format!("invalid request target: {e}")),
        ),
        (_, Err(e)) => (
            server::by_name(&http.servers, &sock, ""),
            Some(format!("invalid Host header: {e}")),
        ),
    };
    let srv = &http.servers[m.server];
    out.uncertain.extend(
        m.unevaluated
            .iter()
            .map(|u| format!("{u} (assumed it does not match)")),
    );
    out.server = Some(server_hit(
        model,
        srv,
        &sock,
        &m,
        host.as_deref().unwrap_or(""),
    ));
    if let Some(why) = bad {
        out.status = Some(400);
        out.warnings
            .push(format!("nginx answers 400 Bad Request: {why}"));
        return out;
    }
    let Ok(t) = target else { return out };
    out.request.uri = String::from_utf8_lossy(&t.uri).into_owned();
    out.request.args = String::from_utf8_lossy(&t.args).into_owned();
    let mut st = St {
        uri: t.uri,
        args: t.args,
        quoted: t.quoted,
        plus: t.plus,
        internal: false,
        valid_unparsed_uri: true,
        valid_location: true,
        uri_changed: false,
        uri_changes: MAX_URI_CHANGES + 1,
        captures: Vec::new(),
        named: Vec::new(),
        vars: HashMap::new(),
    };
    if let Some(c) = m.captures {
        st.set_captures(c);
    }
    let mut r = Router {
        model,
        http,
        req,
        server: srv,
        listen_port: url.port,
        host: host.unwrap_or_default(),
        st,
        loc: None,
        conf: srv.node,
        if_pass: None,
        out,
        loc_hit: None,
        depth: 0,
        eval_depth: 0,
    };
    r.run_server_rewrite();
    r.finish()
}

impl<'m> Router<'m> {
    /// `file`, `line` of a span.
    pub fn at(&self, span: Span) -> (String, u32) {
        let cfg = &self.model.cfg;
        (cfg.display_path(span.file).display().to_string(), span.line)
    }

    /// `file:line` of a directive.
    pub fn at_node(&self, id: NodeId) -> String {
        self.model.cfg.location(self.model.cfg.node(id).span())
    }

    /// The directive as written, for steps.
    pub fn text_of(&self, id: NodeId) -> String {
        let n = self.model.cfg.node(id);
        let file = &self.model.cfg.files[n.span().file.0 as usize].text;
        let mut s = n.name.text().into_owned();
        for a in &n.args {
            s.push(' ');
            s.push_str(&String::from_utf8_lossy(a.raw(file)));
        }
        s
    }

    pub fn step(&mut self, id: NodeId, effect: String) {
        let at = self.at_node(id);
        let directive = self.text_of(id);
        self.out.steps.push(Step {
            at,
            directive,
            effect,
        });
    }

    fn answer(&mut self, status: u16, redirect: Option<String>, body: Option<String>) {
        self.out.status = Some(status);
        self.out.redirect = redirect;
        self.out.body = body;
    }

    /// Start (or restart, after an internal redirect) at the server
    /// rewrite phase.
    pub fn run_server_rewrite(&mut self) {
        self.loc = None;
        self.conf = self.server.node;
        self.if_pass = None;
        self.st.uri_changed = false;
        let flow = self.script(self.server.node, false);
        if let Flow::Answer {
            status,
            redirect,
            body,
        } = flow
        {
            self.answer(status, redirect, body);
            return;
        }
        self.find_config();
    }

    /// Location search and the location rewrite phase, repeated while the
    /// URI changes.
    fn find_config(&mut self) {
        loop {
            self.st.uri_changed = false;
            self.if_pass = None;
            let found = location::find(&self.server.locations, &self.st.uri);
            let Some(f) = found else {
                self.loc = None;
                self.conf = self.server.node;
                self.loc_hit = None;
                break;
            };
            for u in &f.unevaluated {
                self.out
                    .uncertain
                    .push(format!("location {u} (assumed it does not match)"));
            }
            self.loc_hit = Some(self.location_hit(&f));
            self.loc = Some(f.loc);
            self.conf = f.loc.node;
            if f.how == How::AutoRedirect {
                let mut to = String::from_utf8_lossy(&self.st.uri).into_owned();
                to.push('/');
                if !self.st.args.is_empty() {
                    to.push('?');
                    to.push_str(&String::from_utf8_lossy(&self.st.args));
                }
                self.answer(301, Some(to), None);
                return;
            }
            if let Some(c) = f.captures {
                self.st.set_captures(c);
            }
            if !self.enter_location() {
                return;
            }
            if self.st.uri_changed {
                continue;
            }
            break;
        }
        self.content();
    }

    /// Run the location's rewrite phase. Returns false when the request is
    /// finished (answer given or redirect loop).
    fn enter_location(&mut self) -> bool {
        let Some(loc) = self.loc else { return true };
        let flow = self.script(loc.node, true);
        match flow {
            Flow::Answer {
                status,
                redirect,
                body,
            } => {
                self.answer(status, redirect, body);
                false
            }
            Flow::Last => {
                self.st.uri_changed = true;
                self.count_change()
            }
            Flow::Next if self.st.uri_changed => self.count_change(),
            _ => true,
        }
    }

    /// One more URI change; false (500) after nginx's limit.
    pub fn count_change(&mut self) -> bool {
        self.st.uri_changes = self.st.uri_changes.saturating_sub(1);
        if self.st.uri_changes == 0 {
            self.out.warnings.push(
                "rewrite or internal redirection cycle: nginx answers 500 after 10 URI changes"
                    .into(),
            );
            self.answer(500, None, None);
            return false;
        }
        true
    }

    /// Switch to a named location (`try_files … @name`, `error_page … @name`).
    pub fn named_location(&mut self, name: &str, via: NodeId) {
        let Some(loc) = self
            .server
            .locations
            .iter()
            .find(|l| l.modifier == Modifier::Named && l.path == name)
        else {
            let at = self.at_node(via);
            self.out.warnings.push(format!(
                "{at}: no location @{name} in this server: nginx answers 500"
            ));
            self.answer(500, None, None);
            return;
        };
        if !self.count_change() {
            return;
        }
        let (file, line) = self.at(self.model.cfg.node(loc.node).span());
        self.loc_hit = Some(LocationHit {
            file,
            line,
            modifier: "@".into(),
            path: loc.path.clone(),
            matched_by: "named".into(),
            reason: format!(
                "named location @{name}, reached from {} ({})",
                self.at_node(via),
                self.text_of(via)
            ),
            regexes_checked: Vec::new(),
        });
        self.loc = Some(loc);
        self.conf = loc.node;
        self.if_pass = None;
        self.st.uri_changed = false;
        if !self.enter_location() {
            return;
        }
        if self.st.uri_changed {
            self.find_config();
            return;
        }
        self.content();
    }

    /// Internal redirect to `uri?args` (try_files fallback, error_page URI).
    pub fn internal_redirect(&mut self, target: &[u8], keep_args: bool) {
        let (u, a) = match target.iter().position(|&b| b == b'?') {
            Some(i) => (&target[..i], Some(&target[i + 1..])),
            None => (target, None),
        };
        self.st.uri = u.to_vec();
        self.st.args = match a {
            Some(a) => a.to_vec(),
            None if keep_args => std::mem::take(&mut self.st.args),
            None => Vec::new(),
        };
        self.st.internal = true;
        self.st.valid_unparsed_uri = false;
        if !self.count_change() {
            return;
        }
        self.run_server_rewrite();
    }

    fn finish(mut self) -> Route {
        self.out.location = self.loc_hit.take();
        if self.out.pass.is_some() {
            self.out.status = None;
        }
        self.out
    }

    /// A sub-run from the current state, for an alternative outcome.
    pub fn fork(&self) -> Router<'m> {
        Router {
            model: self.model,
            http: self.http,
            req: self.req,
            server: self.server,
            listen_port: self.listen_port,
            host: self.host.clone(),
            st: self.st.clone(),
            loc: self.loc,
            conf: self.conf,
            if_pass: self.if_pass,
            out: Route {
                steps: Vec::new(),
                alternatives: Vec::new(),
                warnings: Vec::new(),
                uncertain: Vec::new(),
                pass: None,
                status: None,
                redirect: None,
                body: None,
                ..self.out.clone()
            },
            loc_hit: self.loc_hit.clone(),
            depth: self.depth + 1,
            eval_depth: 0,
        }
    }

    /// Record the outcome of a forked run as an alternative.
    pub fn alternative(&mut self, when: String, fork: Router<'m>) {
        let r = fork.finish();
        self.out.uncertain.extend(r.uncertain);
        self.out.alternatives.push(Alternative {
            when,
            location: r.location,
            pass: r.pass,
            status: r.status,
        });
    }

    fn location_hit(&self, f: &location::Found<'m>) -> LocationHit {
        let l = f.loc;
        let (file, line) = self.at(self.model.cfg.node(l.node).span());
        let checked = if f.regexes_checked.is_empty() {
            "none".to_owned()
        } else {
            f.regexes_checked.join(", ")
        };
        let (by, reason) = match f.how {
            How::Exact => ("exact", format!("exact match = {}", l.path)),
            How::Prefix if f.skipped_by_noregex => (
                "prefix",
                format!("longest prefix ^~ {} (regex locations skipped)", l.path),
            ),
            How::Prefix => (
                "prefix",
                format!(
                    "longest prefix {}{} (regexes checked: {})",
                    if l.modifier == Modifier::PrefixNoRegex {
                        "^~ "
                    } else {
                        ""
                    },
                    l.path,
                    if f.regexes_checked.is_empty() {
                        "none matched".to_owned()
                    } else {
                        format!("{checked}; none matched")
                    }
                ),
            ),
            How::Regex => (
                "regex",
                format!(
                    "first matching regex {} {}{}{}",
                    l.modifier.as_str(),
                    l.path,
                    if f.regexes_checked.is_empty() {
                        String::new()
                    } else {
                        format!(" (tested before it: {checked})")
                    },
                    f.prefix_before_regex
                        .map(|p| format!("; it wins over the longest prefix {}", p.path))
                        .unwrap_or_default()
                ),
            ),
            How::AutoRedirect => (
                "auto-redirect",
                format!(
                    "{} names a location {} that ends with \"/\" and has {}: nginx redirects to the slash form",
                    String::from_utf8_lossy(&self.st.uri),
                    l.path,
                    l.pass.as_ref().map_or("a *_pass", |p| p.module.directive())
                ),
            ),
        };
        LocationHit {
            file,
            line,
            modifier: l.modifier.as_str().to_owned(),
            path: l.path.clone(),
            matched_by: by.to_owned(),
            reason,
            regexes_checked: f.regexes_checked.clone(),
        }
    }
}

fn server_hit(
    model: &Model,
    srv: &Server,
    sock: &server::Socket,
    m: &server::NameMatch,
    host: &str,
) -> ServerHit {
    let span = model.cfg.node(srv.node).span();
    let n = sock.servers.len();
    let on = if n == 1 {
        format!("the only server on {}", sock.key)
    } else {
        format!("{n} servers on {}", sock.key)
    };
    let reason = match (m.by, &m.name) {
        ("exact", Some(name)) => {
            format!("Host {host} equals server_name {name} ({on})")
        }
        ("wildcard", Some(name)) => {
            format!("Host {host} matches wildcard server_name {name} (no exact name; {on})")
        }
        ("regex", Some(name)) => format!(
            "Host {host} matches regex server_name {name} (no exact or wildcard name; {on})"
        ),
        ("default_server", _) => {
            format!("no server_name matches Host {host}: the socket's default_server answers")
        }
        _ if n == 1 => format!("the only server listening on {}", sock.key),
        _ => format!(
            "no server_name matches Host {host} and no default_server is marked: the first server listening on {} answers",
            sock.key
        ),
    };
    ServerHit {
        file: model.cfg.display_path(span.file).display().to_string(),
        line: span.line,
        server_name: srv.primary_name().to_owned(),
        names: srv.names.clone(),
        listen: sock.key.clone(),
        matched_by: m.by.to_owned(),
        matched_name: m.name.clone(),
        reason,
    }
}
