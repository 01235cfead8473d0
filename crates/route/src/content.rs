//! After the rewrite phases: `internal` locations, `deny all`, `try_files`
//! (its files are on the nginx host, so both outcomes are reported), the
//! `*_pass` handler, `error_page` fallbacks for upstream failures, and
//! static files.

use badgateway_conf::tree::NodeId;

use crate::flow::Router;

/// Statuses of upstream failures whose `error_page` handling is shown.
const UPSTREAM_ERRORS: [&str; 3] = ["502", "503", "504"];

impl<'m> Router<'m> {
    /// The content phase for the current location (or server).
    pub(crate) fn content(&mut self) {
        let cfg = &self.model.cfg;
        if let Some(loc) = self.loc
            && !self.st.internal
            && cfg.find(Some(loc.node), "internal").next().is_some()
        {
            self.out.warnings.push(format!(
                "location {} is internal: an external request gets 404",
                loc.path
            ));
            self.out.status = Some(404);
            return;
        }
        if !self.access() {
            return;
        }
        // try_files is not inherited: the block's own, or the server's
        // when no location matched.
        let own = self.loc.map_or(self.server.node, |l| l.node);
        if let Some(tf) = cfg.find(Some(own), "try_files").next() {
            self.try_files(tf);
            return;
        }
        let pass = self.if_pass.or(self.loc.and_then(|l| l.pass.as_ref()));
        if let Some(p) = pass {
            let hit = self.upstream(p);
            self.out.pass = Some(hit);
            self.error_pages();
            return;
        }
        self.static_file();
    }

    /// `allow`/`deny`: the rules of the nearest block that has any.
    /// Returns false when the request is refused.
    fn access(&mut self) -> bool {
        let cfg = &self.model.cfg;
        let mut cur = Some(self.conf);
        while let Some(b) = cur {
            let rules: Vec<NodeId> = cfg
                .children(b)
                .iter()
                .copied()
                .filter(|&c| cfg.node(c).is("allow") || cfg.node(c).is("deny"))
                .collect();
            if let Some(&first) = rules.first() {
                let n = cfg.node(first);
                if n.is("deny") && n.arg(0).as_deref() == Some("all") {
                    self.step(first, "nginx answers 403".into());
                    self.out.status = Some(403);
                    return false;
                }
                if !(n.is("allow") && n.arg(0).as_deref() == Some("all")) {
                    let at = self.at_node(first);
                    self.out.uncertain.push(format!(
                        "{at}: allow/deny rules depend on the client address; assumed the client is allowed"
                    ));
                }
                return true;
            }
            cur = cfg.node(b).parent;
        }
        true
    }

    fn try_files(&mut self, tf: NodeId) {
        let n = self.model.cfg.node(tf);
        let Some((last, files)) = n.args.split_last() else {
            return;
        };
        let last = last.value.to_vec();
        let mut shown = Vec::new();
        for f in files {
            match self.eval(&f.value) {
                Ok(v) => {
                    let mut p = self.document_root_lossy();
                    p.push_str(&String::from_utf8_lossy(&v));
                    shown.push(p);
                }
                Err(_) => shown.push(format!("$document_root{}", f.text())),
            }
        }
        if !shown.is_empty() {
            let mut alt = self.fork();
            alt.out.status = Some(200);
            self.alternative(
                format!(
                    "if one of these exists on the nginx host: {} (try_files serves it as a static file)",
                    shown.join(", ")
                ),
                alt,
            );
        }
        let at = self.at_node(tf);
        if let Some(code) = last.strip_prefix(b"=") {
            let code = String::from_utf8_lossy(code).parse::<u16>().unwrap_or(404);
            self.step(tf, format!("no file matched: nginx answers {code}"));
            self.out.status = Some(code);
            return;
        }
        if let Some(name) = last.strip_prefix(b"@") {
            let name = String::from_utf8_lossy(name).into_owned();
            self.step(tf, format!("no file matched: falls back to @{name}"));
            self.named_location(&name, tf);
            return;
        }
        match self.eval(&last) {
            Ok(target) => {
                self.step(
                    tf,
                    format!(
                        "no file matched: internal redirect to {}",
                        String::from_utf8_lossy(&target)
                    ),
                );
                self.internal_redirect(&target, false);
            }
            Err(e) => {
                self.out
                    .uncertain
                    .push(format!("{at}: try_files fallback not computable: {e}"));
                self.out.status = Some(404);
            }
        }
    }

    fn document_root_lossy(&self) -> String {
        let root = self
            .model
            .value(self.conf, "root")
            .0
            .unwrap_or_else(|| "html".into());
        self.model
            .resolve_path(&root)
            .to_string_lossy()
            .into_owned()
    }

    /// `error_page` entries for 502/503/504 in force: what happens when the
    /// upstream fails.
    fn error_pages(&mut self) {
        if self.depth > 0 {
            return;
        }
        let Some(e) = self.model.effective(self.conf, "error_page") else {
            return;
        };
        for &id in e.nodes.iter() {
            let n = self.model.cfg.node(id);
            let args: Vec<String> = n.args.iter().map(|w| w.text().into_owned()).collect();
            let Some(target) = args.last().cloned() else {
                continue;
            };
            let codes: Vec<&str> = args
                .iter()
                .take(args.len() - 1)
                .map(String::as_str)
                .filter(|a| UPSTREAM_ERRORS.contains(a))
                .collect();
            if codes.is_empty() {
                continue;
            }
            let when = format!(
                "if the upstream fails with {} ({} at {})",
                codes.join("/"),
                self.text_of(id),
                self.at_node(id)
            );
            let mut alt = self.fork();
            alt.out.pass = None;
            alt.loc_hit = None;
            if let Some(name) = target.strip_prefix('@') {
                alt.named_location(name, id);
            } else if target.starts_with("http://") || target.starts_with("https://") {
                alt.out.status = Some(302);
            } else {
                match alt.eval(target.as_bytes()) {
                    Ok(t) => alt.internal_redirect(&t, false),
                    Err(_) => alt.out.status = Some(500),
                }
            }
            self.alternative(when, alt);
        }
    }

    fn static_file(&mut self) {
        let mut path = self.document_root_lossy();
        path.push_str(&String::from_utf8_lossy(&self.st.uri));
        if self.model.effective(self.conf, "alias").is_some() {
            path = format!("(alias) {path}");
        }
        let index = self.st.uri.ends_with(b"/");
        self.out.status = Some(200);
        let what = if index {
            format!("the index file of {path}")
        } else {
            path
        };
        let mut alt = self.fork();
        alt.out.status = Some(if index { 403 } else { 404 });
        self.alternative(format!("if {what} does not exist on the nginx host"), alt);
        self.out.steps.push(crate::types::Step {
            at: self
                .loc
                .map(|l| self.at_node(l.node))
                .unwrap_or_else(|| self.at_node(self.server.node)),
            directive: "(no *_pass)".into(),
            effect: format!("nginx serves {what} itself"),
        });
    }
}
