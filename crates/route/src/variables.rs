//! Variable lookup for one request: nginx's built-in variables that the
//! request determines, `set` variables, regex captures, and `map` blocks
//! (exact keys case-insensitively, then regexes in order, else `default`).
//! Variables that depend on the client or the host (`$remote_addr`,
//! `$hostname`, `$request_id`, `geo`…) are unknown, with a reason.

use badgateway_conf::tree::NodeId;

use crate::flow::Router;
use crate::regex::Regex;
use crate::url::Scheme;
use crate::vars;

/// Variables that depend on the connecting client or the nginx host.
const CLIENT_VARS: &[&str] = &[
    "remote_addr",
    "binary_remote_addr",
    "remote_port",
    "remote_user",
    "realip_remote_addr",
    "proxy_add_x_forwarded_for",
    "hostname",
    "request_id",
    "connection",
    "connection_requests",
    "msec",
    "time_local",
    "time_iso8601",
    "pid",
    "realpath_root",
    "ssl_client_s_dn",
    "ssl_protocol",
    "ssl_cipher",
];

impl<'m> Router<'m> {
    /// The value of `$name`, or why it is not known statically.
    pub(crate) fn var(&mut self, name: &str) -> Result<Vec<u8>, String> {
        if self.eval_depth > 16 {
            return Err(format!("${name} refers to itself"));
        }
        self.eval_depth += 1;
        let v = self.var_inner(name);
        self.eval_depth -= 1;
        v
    }

    fn var_inner(&mut self, name: &str) -> Result<Vec<u8>, String> {
        if let Some(v) = self.st.vars.get(name) {
            return v.clone();
        }
        if let Some((_, v)) = self.st.named.iter().find(|(n, _)| n == name) {
            return Ok(v.clone());
        }
        let req = self.req;
        let lower = name.to_ascii_lowercase();
        let s = |v: &str| Ok(v.as_bytes().to_vec());
        match lower.as_str() {
            "uri" | "document_uri" => return Ok(self.st.uri.clone()),
            "request_uri" => return Ok(req.url.target.clone()),
            "args" | "query_string" => return Ok(self.st.args.clone()),
            "is_args" => return s(if self.st.args.is_empty() { "" } else { "?" }),
            "scheme" => return s(req.url.scheme.as_str()),
            "https" => {
                return s(if req.url.scheme == Scheme::Https {
                    "on"
                } else {
                    ""
                });
            }
            "request_method" => return s(&req.method),
            "server_protocol" => return s("HTTP/1.1"),
            "request" => {
                let mut v = format!("{} ", req.method).into_bytes();
                v.extend_from_slice(&req.url.target);
                v.extend_from_slice(b" HTTP/1.1");
                return Ok(v);
            }
            "host" => {
                return if self.host.is_empty() {
                    s(self.server.primary_name())
                } else {
                    s(&self.host)
                };
            }
            "server_name" => return s(self.server.primary_name()),
            "server_port" => return s(&self.listen_port.to_string()),
            "server_addr" => {
                return match req.url.ip() {
                    Some(ip) => s(&ip.to_string()),
                    None => Err("$server_addr depends on where the name resolves".into()),
                };
            }
            "content_type" => return Ok(self.header_bytes("content-type")),
            "content_length" => return Ok(self.header_bytes("content-length")),
            "cookie" => return Ok(self.header_bytes("cookie")),
            "document_root" => return self.document_root(),
            "request_filename" => {
                let mut root = self.document_root()?;
                root.extend_from_slice(&self.st.uri);
                return Ok(root);
            }
            "fastcgi_script_name" => {
                let mut v = self.st.uri.clone();
                if v.ends_with(b"/") {
                    let idx = self.model.value(self.conf, "fastcgi_index").0;
                    v.extend_from_slice(idx.unwrap_or_default().as_bytes());
                }
                return Ok(v);
            }
            _ => {}
        }
        if let Some(a) = lower.strip_prefix("arg_") {
            return Ok(vars::arg(&self.st.args, a).unwrap_or_default());
        }
        if let Some(h) = lower.strip_prefix("http_") {
            return Ok(self.header_bytes(&vars::http_header_name(h)));
        }
        if let Some(c) = lower.strip_prefix("cookie_") {
            let header = req.header("cookie").unwrap_or_default();
            return Ok(vars::cookie(&header, c).unwrap_or_default());
        }
        if CLIENT_VARS.contains(&lower.as_str()) {
            return Err(format!("${name} depends on the client or the nginx host"));
        }
        if let Some(map) = self.find_map(name) {
            return self.map_value(map, name);
        }
        if self.defined_by(
            name,
            &["geo", "split_clients", "geoip_country", "geoip_city"],
        ) {
            return Err(format!("${name} depends on the client address"));
        }
        if self.defined_by(name, &["set"]) {
            // nginx: an uninitialised variable is empty.
            return Ok(Vec::new());
        }
        Err(format!("${name} is not a variable this tool evaluates"))
    }

    fn header_bytes(&self, name: &str) -> Vec<u8> {
        self.req
            .header(name)
            .map(String::into_bytes)
            .unwrap_or_default()
    }

    fn document_root(&self) -> Result<Vec<u8>, String> {
        if self.model.effective(self.conf, "alias").is_some() {
            return Err("$document_root comes from alias".into());
        }
        let root = self
            .model
            .value(self.conf, "root")
            .0
            .unwrap_or_else(|| "html".into());
        if root.contains('$') {
            return Err(format!("root {root} has variables"));
        }
        Ok(self
            .model
            .resolve_path(&root)
            .to_string_lossy()
            .into_owned()
            .into_bytes())
    }

    /// Whether any directive named in `directives` defines `$name`.
    fn defined_by(&self, name: &str, directives: &[&str]) -> bool {
        let cfg = &self.model.cfg;
        let want = format!("${name}");
        cfg.nodes.iter().any(|n| {
            directives.iter().any(|d| n.is(d))
                && n.args.iter().any(|a| a.text().eq_ignore_ascii_case(&want))
        })
    }

    fn find_map(&self, name: &str) -> Option<NodeId> {
        let want = format!("${name}");
        self.model.cfg.find(Some(self.http.node), "map").find(|&m| {
            self.model
                .cfg
                .node(m)
                .arg(1)
                .is_some_and(|a| a.eq_ignore_ascii_case(&want))
        })
    }

    fn map_value(&mut self, map: NodeId, name: &str) -> Result<Vec<u8>, String> {
        let cfg = &self.model.cfg;
        let at = cfg.location(cfg.node(map).span());
        let src = cfg.node(map).args[0].value.to_vec();
        let key = self
            .eval(&src)
            .map_err(|e| format!("${name} (map at {at}): {e}"))?;
        let mut default = Vec::new();
        let mut regexes = Vec::new();
        let mut found = None;
        for &e in cfg.children(map) {
            let n = cfg.node(e);
            let k = n.name.value.to_vec();
            let v = n.args.first().map(|w| w.value.to_vec()).unwrap_or_default();
            match k.as_slice() {
                b"default" => default = v,
                b"hostnames" => {
                    return Err(format!("${name}: map at {at} matches host name wildcards"));
                }
                b"volatile" | b"include" => {}
                _ if k.starts_with(b"~") => regexes.push((k, v)),
                _ => {
                    let k = k.strip_prefix(b"\\").unwrap_or(&k);
                    if found.is_none() && k.eq_ignore_ascii_case(&key) {
                        found = Some(v);
                    }
                }
            }
        }
        if found.is_none() {
            for (k, v) in regexes {
                let (pat, caseless) = match k.strip_prefix(b"~*") {
                    Some(p) => (p.to_vec(), true),
                    None => (k[1..].to_vec(), false),
                };
                let re = Regex::new(&pat, caseless)
                    .map_err(|e| format!("${name} (map at {at}): {e}"))?;
                if let Some(c) = re.captures(&key) {
                    self.st.set_captures(c);
                    found = Some(v);
                    break;
                }
            }
        }
        let v = found.unwrap_or(default);
        self.eval(&v)
    }
}
