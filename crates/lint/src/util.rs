//! Small helpers shared by the rules: edit distance, host classification,
//! nginx's `proxy_pass` URI substitution, and reading directive arguments.

use std::borrow::Cow;
use std::net::IpAddr;

use std::collections::HashMap;

use badgateway_conf::model::defaults::default_value;
use badgateway_conf::model::values::parse_time;
use badgateway_conf::{Config, NodeId, Span};

use crate::Cx;

/// Every directive by enclosing block and name, so that effective-value
/// lookups cost a hash probe per level instead of a scan of the block (the
/// `http` block of a large tree has thousands of children).
#[derive(Debug, Default)]
pub struct Index {
    by_block: HashMap<Option<NodeId>, HashMap<String, Vec<NodeId>>>,
    by_name: HashMap<String, Vec<NodeId>>,
}

impl Index {
    /// Index every directive of `cfg`.
    pub fn new(cfg: &Config) -> Index {
        let mut by_block: HashMap<Option<NodeId>, HashMap<String, Vec<NodeId>>> = HashMap::new();
        let mut by_name: HashMap<String, Vec<NodeId>> = HashMap::new();
        for (id, _) in cfg.walk() {
            let n = cfg.node(id);
            let name = n.name.text();
            by_block
                .entry(n.parent)
                .or_default()
                .entry(name.clone().into_owned())
                .or_default()
                .push(id);
            by_name.entry(name.into_owned()).or_default().push(id);
        }
        Index { by_block, by_name }
    }

    /// Every directive named `name`, anywhere, in reading order.
    pub fn named(&self, name: &str) -> &[NodeId] {
        self.by_name.get(name).map_or(&[], Vec::as_slice)
    }

    /// The directives named `name` directly in `block` (`None`: main level).
    pub fn find(&self, block: Option<NodeId>, name: &str) -> &[NodeId] {
        self.by_block
            .get(&block)
            .and_then(|m| m.get(name))
            .map_or(&[], Vec::as_slice)
    }
}

/// The directives of one name in force at a block (nginx inheritance: the
/// nearest enclosing block that has any), borrowed from the lint index.
pub type Eff<'m> = badgateway_conf::model::Effective<'m>;

/// Levenshtein distance over bytes, case-insensitive (nginx matches
/// upstream names case-insensitively).
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a = a.to_ascii_lowercase().into_bytes();
    let b = b.to_ascii_lowercase().into_bytes();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, &ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The closest name to `name` among `names`, when close enough to be a
/// plausible typo: at most 2 edits, and at most a third of the length.
pub fn closest<'a>(name: &str, names: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (name.len() / 3).clamp(1, 2);
    names
        .into_iter()
        .map(|n| (edit_distance(name, n), n))
        .filter(|&(d, _)| d > 0 && d <= limit)
        .min_by_key(|&(d, n)| (d, n.len()))
        .map(|(_, n)| n)
}

/// Whether a host is an IP literal (IPv6 without brackets).
pub fn is_ip(host: &str) -> bool {
    host.parse::<IpAddr>().is_ok()
}

/// Whether a host is `localhost` (any case, optional trailing dot).
pub fn is_localhost(host: &str) -> bool {
    host.trim_end_matches('.').eq_ignore_ascii_case("localhost")
}

/// The URI nginx sends upstream for `request` when a prefix location
/// `location` has `proxy_pass …URI`: exactly `len(location)` bytes of the
/// request URI are replaced by the URI part (ngx_http_proxy_create_request).
pub fn map_uri(location: &str, uri: &str, request: &str) -> String {
    let cut = location.len().min(request.len());
    let rest = request.get(cut..).unwrap_or("");
    format!("{uri}{rest}")
}

/// A request path a prefix location matches, one segment below it.
pub fn sample_request(location: &str) -> String {
    if location.ends_with('/') {
        format!("{location}users")
    } else {
        format!("{location}/users")
    }
}

/// Split a `*_pass` argument (scheme already removed) into its host part
/// and the rest, the way nginx evaluates it: the host ends at the first
/// `/` or `?`, or at a variable that always starts with `/` or `?`.
pub fn split_host(rest: &str) -> (&str, &str) {
    const URI_VARS: &[&str] = &["$request_uri", "$uri", "$document_uri", "$is_args"];
    if rest.starts_with("unix:") {
        return (rest, "");
    }
    let slash = rest.find(['/', '?']).unwrap_or(rest.len());
    let var = rest
        .match_indices('$')
        .map(|(i, _)| i)
        .find(|&i| URI_VARS.iter().any(|v| rest[i..].starts_with(v)))
        .unwrap_or(rest.len());
    rest.split_at(slash.min(var))
}

/// The part of a `*_pass` argument after `scheme://` (or all of it).
pub fn after_scheme(raw: &str) -> &str {
    raw.find("://").map_or(raw, |i| &raw[i + 3..])
}

/// Variable names (without `$`) referenced in `s`, `${name}` included.
pub fn variables(s: &str) -> Vec<String> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'$' {
            let braced = b.get(i + 1) == Some(&b'{');
            let start = i + 1 + usize::from(braced);
            let mut j = start;
            while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
                j += 1;
            }
            if j > start {
                out.push(s[start..j].to_owned());
            }
            i = j.max(i + 1);
        } else {
            i += 1;
        }
    }
    out
}

/// `host[:port]` split, for values like `10.0.0.1:9090` or `[::1]:80`.
pub fn host_of(hostport: &str) -> &str {
    if let Some(v6) = hostport.strip_prefix('[') {
        return v6.split(']').next().unwrap_or(v6);
    }
    match hostport.rsplit_once(':') {
        Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) && !h.contains(':') => h,
        _ => hostport,
    }
}

impl<'m> Cx<'m> {
    /// The directives named `name` in force at `block`.
    pub fn effective(&self, block: NodeId, name: &str) -> Option<Eff<'m>> {
        let cfg: &'m Config = &self.model.cfg;
        let mut cur = Some(block);
        loop {
            let nodes = self.index.find(cur, name);
            if !nodes.is_empty() {
                return Some(Eff::new(cfg, cur, Cow::Borrowed(nodes)));
            }
            cur = cfg.node(cur?).parent;
            if cur.is_none() {
                let nodes = self.index.find(None, name);
                return (!nodes.is_empty()).then(|| Eff::new(cfg, None, Cow::Borrowed(nodes)));
            }
        }
    }

    /// The effective first argument of `name` at `block` and where it is
    /// set, or nginx's default for the model's version (no span).
    pub fn value(&self, block: NodeId, name: &str) -> (Option<String>, Option<Span>) {
        match self.effective(block, name) {
            Some(e) => (e.first(), e.span()),
            None => (
                default_value(name, self.model.version).map(str::to_owned),
                None,
            ),
        }
    }

    /// The effective first argument of `name` at `block` as a time in
    /// milliseconds, with where it is set (`None` span: nginx's default).
    pub fn time_ms(&self, block: NodeId, name: &str) -> Option<(u128, Option<Span>)> {
        let (v, span) = self.value(block, name);
        Some((parse_time(&v?)?.as_millis(), span))
    }

    /// The effective flag `name` at `block` (nginx's default when unset).
    pub fn flag(&self, block: NodeId, name: &str) -> bool {
        self.value(block, name).0.as_deref() == Some("on")
    }

    /// The arguments of a directive as text.
    pub fn args(&self, id: NodeId) -> Vec<String> {
        self.model
            .cfg
            .node(id)
            .args
            .iter()
            .map(|w| w.text().into_owned())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances_and_typos() {
        assert_eq!(edit_distance("backnd", "backend"), 1);
        assert_eq!(edit_distance("Backend", "backend"), 0);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(closest("backnd", ["backend", "other"]), Some("backend"));
        assert_eq!(closest("app", ["api", "web"]), Some("api"));
        assert_eq!(closest("web", ["db"]), None);
        assert_eq!(closest("backend", ["backend"]), None);
    }

    #[test]
    fn uri_mapping_follows_nginx() {
        assert_eq!(map_uri("/api", "/v1/", "/api/users"), "/v1//users");
        assert_eq!(map_uri("/api/", "/v1", "/api/users"), "/v1users");
        assert_eq!(map_uri("/api/", "/v1/", "/api/users"), "/v1/users");
        assert_eq!(map_uri("/api", "/", "/api"), "/");
        assert_eq!(sample_request("/api"), "/api/users");
        assert_eq!(sample_request("/api/"), "/api/users");
    }

    #[test]
    fn host_parts() {
        assert_eq!(split_host("$b/x"), ("$b", "/x"));
        assert_eq!(
            split_host("backend$request_uri"),
            ("backend", "$request_uri")
        );
        assert_eq!(split_host("$h:8080"), ("$h:8080", ""));
        assert_eq!(after_scheme("http://a/b"), "a/b");
        assert_eq!(variables("${a}x$b_c:$1"), ["a", "b_c", "1"]);
        assert_eq!(host_of("10.0.0.1:9090"), "10.0.0.1");
        assert_eq!(host_of("[::1]:80"), "::1");
        assert_eq!(host_of("app"), "app");
        assert!(is_localhost("LocalHost"));
        assert!(is_ip("::1") && !is_ip("app"));
    }
}
