//! The upstream request a `*_pass` builds: where it goes (an `upstream {}`
//! group and its servers, a fixed address, or a target computed from
//! variables) and, for HTTP and gRPC, the URI sent, following
//! `ngx_http_proxy_create_request`:
//!
//! 1. variables with a URI part: the evaluated URI, exactly;
//! 2. no URI part and the URI unchanged: the request target as received;
//! 3. otherwise: the URI part (unless `rewrite … break` cleared it) plus
//!    the normalised URI after the location's prefix (re-escaped when the
//!    URI was rewritten or had `%`-escapes), plus `?args`.

use badgateway_conf::model::addr::parse_url;
use badgateway_conf::model::{Address, Pass, PassModule, PassTarget, Upstream};

use crate::flow::Router;
use crate::types::{PassHit, Peer};
use crate::uri::{Escape, escape};

/// FastCGI / uwsgi / SCGI parameters worth showing.
const PARAMS: &[&str] = &[
    "SCRIPT_FILENAME",
    "SCRIPT_NAME",
    "REQUEST_URI",
    "DOCUMENT_URI",
    "PATH_INFO",
    "QUERY_STRING",
];

impl<'m> Router<'m> {
    /// Build the upstream request for `p`.
    pub(crate) fn upstream(&mut self, p: &'m Pass) -> PassHit {
        let (file, line) = self.at(self.model.cfg.node(p.node).span());
        let mut hit = PassHit {
            directive: p.module.directive().to_owned(),
            target: p.raw.clone(),
            file,
            line,
            scheme: p.protocol.schema().trim_end_matches("://").to_owned(),
            upstream: None,
            servers: Vec::new(),
            peers: Vec::new(),
            upstream_uri: None,
            request_line: None,
            uri_rule: None,
            params: Vec::new(),
        };
        let at = format!("{}:{}", hit.file, hit.line);
        let mut vars_uri: Vec<u8> = p.uri.clone().unwrap_or_default().into_bytes();
        let target = if p.variables {
            match self.eval(p.raw.as_bytes()) {
                Ok(v) => {
                    let text = String::from_utf8_lossy(&v).into_owned();
                    let (t, uri) = self.dynamic_target(p, &text, &at);
                    vars_uri = uri;
                    t
                }
                Err(e) => {
                    self.out.uncertain.push(format!(
                        "{at}: {} {} not computable: {e}",
                        hit.directive, p.raw
                    ));
                    return hit;
                }
            }
        } else {
            Some(p.target.clone())
        };
        match &target {
            Some(PassTarget::Group { index, .. }) => {
                let g: &Upstream = &self.http.upstreams[*index];
                hit.upstream = Some(g.name.clone());
                for s in &g.servers {
                    let address = match &s.address {
                        Ok(a) => a.display(p.protocol.default_port()),
                        Err(_) => s.raw.clone(),
                    };
                    hit.peers.push(Peer {
                        address: address.clone(),
                        backup: s.backup,
                        down: s.down,
                    });
                    hit.servers.push(address);
                }
                if g.servers.is_empty() {
                    self.out
                        .warnings
                        .push(format!("upstream {} has no servers", g.name));
                }
            }
            Some(PassTarget::Address { address }) => {
                let a = address.display(p.protocol.default_port());
                if let Address::Tcp { host, .. } = address
                    && address.ip().is_none()
                {
                    self.out.uncertain.push(format!(
                        "{host} is resolved by nginx at start-up; every address it returns is a server"
                    ));
                }
                hit.peers.push(Peer {
                    address: a.clone(),
                    backup: false,
                    down: false,
                });
                hit.servers.push(a);
            }
            Some(PassTarget::Invalid { reason }) => {
                self.out.warnings.push(format!(
                    "{at}: nginx refuses this {}: {reason}",
                    hit.directive
                ));
            }
            Some(PassTarget::Dynamic { .. }) | None => {}
        }
        match p.module {
            PassModule::Proxy => self.proxy_uri(p, &vars_uri, &mut hit),
            PassModule::Grpc => {
                let uri = if self.st.valid_unparsed_uri {
                    self.req.url.target.clone()
                } else {
                    self.normalized_with_args(0)
                };
                hit.upstream_uri = Some(String::from_utf8_lossy(&uri).into_owned());
                hit.uri_rule = Some("grpc: the request URI (:path)".into());
            }
            PassModule::Memcached => {
                let key = self.var("memcached_key");
                hit.params.push((
                    "key".into(),
                    key.map_or_else(
                        |e| format!("(unknown: {e})"),
                        |k| String::from_utf8_lossy(&k).into_owned(),
                    ),
                ));
            }
            PassModule::Fastcgi | PassModule::Uwsgi | PassModule::Scgi => {
                self.params(p.module, &mut hit);
            }
        }
        hit
    }

    /// Parse an evaluated `*_pass` value: the target and its URI part.
    fn dynamic_target(&mut self, p: &Pass, text: &str, at: &str) -> (Option<PassTarget>, Vec<u8>) {
        let lower = text.to_ascii_lowercase();
        let rest = [
            "http://",
            "https://",
            "grpc://",
            "grpcs://",
            "uwsgi://",
            "suwsgi://",
        ]
        .iter()
        .find(|s| lower.starts_with(*s))
        .map_or(text, |s| &text[s.len()..]);
        let parsed = match parse_url(rest, p.module == PassModule::Proxy) {
            Ok(u) => u,
            Err(e) => {
                self.out.warnings.push(format!(
                    "{at}: evaluates to {text}: {e} (nginx answers 500)"
                ));
                return (None, Vec::new());
            }
        };
        let mut uri = parsed.uri.unwrap_or_default().into_bytes();
        if uri.first() == Some(&b'?') {
            uri.insert(0, b'/');
        }
        let target = match &parsed.addr {
            Address::Tcp { host, port } if parsed.addr.ip().is_none() => {
                match self
                    .http
                    .upstreams
                    .iter()
                    .position(|g| g.name.eq_ignore_ascii_case(host))
                    .filter(|_| port.is_none())
                {
                    Some(index) => PassTarget::Group {
                        name: self.http.upstreams[index].name.clone(),
                        index,
                        port: None,
                    },
                    None => {
                        if self.model.effective(self.conf, "resolver").is_some() {
                            self.out.uncertain.push(format!(
                                "{at}: evaluates to host {host}, resolved per request by the resolver"
                            ));
                        } else {
                            self.out.warnings.push(format!(
                                "{at}: evaluates to host {host}, which is no upstream block, and no resolver is set: nginx answers 502 (no resolver defined to resolve {host})"
                            ));
                        }
                        PassTarget::Address {
                            address: parsed.addr.clone(),
                        }
                    }
                }
            }
            a => PassTarget::Address { address: a.clone() },
        };
        (Some(target), uri)
    }

    /// `$uri[loc_len..]`, escaped when nginx escapes it, plus `?args`.
    fn normalized_with_args(&self, loc_len: usize) -> Vec<u8> {
        let rest = &self.st.uri[loc_len.min(self.st.uri.len())..];
        let mut out = if self.st.quoted || self.st.internal {
            escape(rest, Escape::Uri)
        } else {
            rest.to_vec()
        };
        if !self.st.args.is_empty() {
            out.push(b'?');
            out.extend_from_slice(&self.st.args);
        }
        out
    }

    fn proxy_uri(&mut self, p: &Pass, vars_uri: &[u8], hit: &mut PassHit) {
        let (uri, rule) = if p.variables && !vars_uri.is_empty() {
            (
                vars_uri.to_vec(),
                "proxy_pass with variables and a URI part: the evaluated URI is sent as is",
            )
        } else if vars_uri.is_empty() && self.st.valid_unparsed_uri {
            (
                self.req.url.target.clone(),
                "no URI part in proxy_pass: the request URI is sent as the client sent it",
            )
        } else {
            let loc_path = self.loc.map(|l| l.path.as_bytes()).unwrap_or_default();
            let replace = self.st.valid_location && !vars_uri.is_empty();
            let loc_len = if replace {
                loc_path.len().min(self.st.uri.len())
            } else {
                0
            };
            let mut out = if self.st.valid_location {
                vars_uri.to_vec()
            } else {
                Vec::new()
            };
            let rest = self.normalized_with_args(loc_len);
            if replace {
                let after = self.st.uri[loc_len..].to_owned();
                self.slash_warning(loc_path, vars_uri, &after);
            }
            out.extend_from_slice(&rest);
            let rule = if replace {
                "the URI part of proxy_pass replaces the matched location prefix"
            } else if !vars_uri.is_empty() {
                "rewrite … break: the URI part of proxy_pass is ignored and the rewritten URI is sent"
            } else {
                "no URI part, URI changed by rewrite or internal redirect: the normalised URI is sent"
            };
            (out, rule)
        };
        if uri.is_empty() {
            self.out
                .warnings
                .push("zero length URI to proxy: nginx answers 500".into());
        }
        let method = self
            .model
            .value(self.conf, "proxy_method")
            .0
            .unwrap_or_else(|| self.req.method.clone());
        let version = self
            .model
            .value(self.conf, "proxy_http_version")
            .0
            .unwrap_or_else(|| "1.0".into());
        let shown = String::from_utf8_lossy(&uri).into_owned();
        hit.request_line = Some(format!("{method} {shown} HTTP/{version}"));
        hit.upstream_uri = Some(shown);
        hit.uri_rule = Some(rule.into());
    }

    fn slash_warning(&mut self, loc: &[u8], part: &[u8], rest: &[u8]) {
        let loc_s = String::from_utf8_lossy(loc);
        let part_s = String::from_utf8_lossy(part);
        if part.ends_with(b"/") && rest.starts_with(b"/") {
            self.out.warnings.push(format!(
                "trailing slash mismatch: the proxy_pass URI part {part_s} ends with \"/\" but location {loc_s} does not, so the slash after {loc_s} is doubled (…{part_s}{}); write `location {loc_s}/` or drop the trailing slash of the URI part",
                String::from_utf8_lossy(&rest[1..]),
            ));
        } else if !part.ends_with(b"/") && loc.ends_with(b"/") && !rest.is_empty() {
            self.out.warnings.push(format!(
                "trailing slash mismatch: location {loc_s} ends with \"/\" but the proxy_pass URI part {part_s} does not, so the slash is dropped ({part_s}{}); add the trailing slash to the URI part",
                String::from_utf8_lossy(rest),
            ));
        }
    }

    fn params(&mut self, module: PassModule, hit: &mut PassHit) {
        let directive = format!("{}_param", module.prefix());
        let Some(e) = self.model.effective(self.conf, &directive) else {
            self.out.warnings.push(format!(
                "no {directive} in force: the backend receives no SCRIPT_FILENAME or REQUEST_URI"
            ));
            return;
        };
        for &id in e.nodes.iter() {
            let n = self.model.cfg.node(id);
            let (Some(k), Some(v)) = (n.args.first(), n.args.get(1)) else {
                continue;
            };
            let k = k.text().into_owned();
            if !PARAMS.contains(&k.as_str()) || hit.params.iter().any(|(p, _)| *p == k) {
                continue;
            }
            let value = match self.eval(&v.value) {
                Ok(v) => String::from_utf8_lossy(&v).into_owned(),
                Err(e) => format!("(unknown: {e})"),
            };
            hit.params.push((k, value));
        }
    }
}
