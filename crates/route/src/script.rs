//! The rewrite module's directives, executed in order like nginx's script
//! engine: `rewrite` (with `last`, `break`, `redirect`, `permanent`),
//! `return`, `set`, `if` and `break`; and the evaluation of variables.
//! Rewrite directives are not inherited: a block runs only its own.
//! Anything that depends on what is not known statically (client address,
//! files on disk, unknown variables) is recorded as uncertain, with what
//! was assumed.

use badgateway_conf::model::http::if_condition;
use badgateway_conf::tree::NodeId;

use crate::flow::{Flow, Router};
use crate::regex::Regex;
use crate::uri::{Escape, escape};
use crate::vars::{self, Piece};

impl<'m> Router<'m> {
    /// Run the rewrite directives of `block` (server, location or `if`).
    pub(crate) fn script(&mut self, block: NodeId, in_location: bool) -> Flow {
        let cfg = &self.model.cfg;
        for &id in cfg.children(block) {
            let n = cfg.node(id);
            let flow = match n.name.text().as_ref() {
                "rewrite" => self.rewrite(id),
                "return" => self.ret(id),
                "set" => {
                    self.set(id);
                    Flow::Next
                }
                "break" => {
                    if self.st.uri_changed {
                        self.st.valid_location = false;
                        self.st.uri_changed = false;
                    }
                    self.step(id, "stops the rewrite directives".into());
                    Flow::Break
                }
                "if" => self.if_block(id, in_location),
                _ => Flow::Next,
            };
            if flow != Flow::Next {
                return flow;
            }
        }
        Flow::Next
    }

    fn if_block(&mut self, id: NodeId, in_location: bool) -> Flow {
        let words = if_condition(&self.model.cfg, id);
        match self.condition(&words) {
            Ok(true) => {
                self.step(id, "condition is true".into());
                if in_location {
                    self.conf = id;
                    if let Some(loc) = self.loc
                        && let Some(b) = loc.ifs.iter().find(|b| b.node == id)
                        && let Some(p) = &b.pass
                    {
                        self.if_pass = Some(p);
                    }
                }
                self.script(id, in_location)
            }
            Ok(false) => Flow::Next,
            Err(why) => {
                let at = self.at_node(id);
                self.out.uncertain.push(format!(
                    "{at}: cannot evaluate if ({}): {why}; assumed false",
                    words.join(" ")
                ));
                Flow::Next
            }
        }
    }

    fn condition(&mut self, w: &[String]) -> Result<bool, String> {
        match w {
            [v] => {
                let val = self.eval(v.as_bytes())?;
                Ok(!(val.is_empty() || val == b"0"))
            }
            [op, _] if op.trim_start_matches('!').starts_with('-') => {
                Err(format!("\"{op}\" tests the filesystem of the nginx host"))
            }
            [v, op, rhs] => {
                let val = self.eval(v.as_bytes())?;
                match op.as_str() {
                    "=" => Ok(val == self.eval(rhs.as_bytes())?),
                    "!=" => Ok(val != self.eval(rhs.as_bytes())?),
                    "~" | "~*" | "!~" | "!~*" => {
                        let re = Regex::new(rhs.as_bytes(), op.ends_with('*'))
                            .map_err(|e| e.to_string())?;
                        let hit = re.captures(&val);
                        let negate = op.starts_with('!');
                        match hit {
                            Some(c) => {
                                if !negate {
                                    self.st.set_captures(c);
                                }
                                Ok(!negate)
                            }
                            None => Ok(negate),
                        }
                    }
                    _ => Err(format!("unknown operator {op}")),
                }
            }
            _ => Err("unrecognised condition".into()),
        }
    }

    fn set(&mut self, id: NodeId) {
        let n = self.model.cfg.node(id);
        let (Some(name), Some(value)) = (n.args.first(), n.args.get(1)) else {
            return;
        };
        let name = name.text().trim_start_matches('$').to_owned();
        let v = self.eval(&value.value);
        let effect = match &v {
            Ok(v) => format!("${name} = \"{}\"", String::from_utf8_lossy(v)),
            Err(e) => format!("${name} is unknown ({e})"),
        };
        if name == "args" {
            // Writable built-in: the arguments themselves change.
            match &v {
                Ok(a) => self.st.args = a.clone(),
                Err(_) => {
                    let at = self.at_node(id);
                    self.out
                        .uncertain
                        .push(format!("{at}: new $args unknown; kept the old ones"));
                }
            }
        } else {
            self.st.vars.insert(name, v);
        }
        self.step(id, effect);
    }

    fn ret(&mut self, id: NodeId) -> Flow {
        let n = self.model.cfg.node(id);
        let a0 = n.arg(0).unwrap_or_default().into_owned();
        let (status, text) = match a0.parse::<u16>() {
            Ok(code) => (code, n.args.get(1).map(|w| w.value.to_vec())),
            Err(_) => (302, n.args.first().map(|w| w.value.to_vec())),
        };
        let text = match text {
            Some(t) => match self.eval(&t) {
                Ok(v) => Some(String::from_utf8_lossy(&v).into_owned()),
                Err(e) => {
                    let at = self.at_node(id);
                    self.out
                        .uncertain
                        .push(format!("{at}: return text not computable: {e}"));
                    None
                }
            },
            None => None,
        };
        let is_redirect = matches!(status, 301 | 302 | 303 | 307 | 308);
        self.step(id, format!("nginx answers {status}"));
        Flow::Answer {
            status,
            redirect: if is_redirect { text.clone() } else { None },
            body: if is_redirect { None } else { text },
        }
    }

    fn rewrite(&mut self, id: NodeId) -> Flow {
        let n = self.model.cfg.node(id);
        let (Some(pat), Some(repl)) = (n.args.first(), n.args.get(1)) else {
            return Flow::Next;
        };
        let flag = n.arg(2).map(|f| f.into_owned());
        let re = match Regex::new(&pat.value, false) {
            Ok(re) => re,
            Err(e) => {
                let at = self.at_node(id);
                self.out
                    .uncertain
                    .push(format!("{at}: {e}; assumed the rewrite does not apply"));
                return Flow::Next;
            }
        };
        let Some(caps) = re.captures(&self.st.uri) else {
            return Flow::Next;
        };
        self.st.set_captures(caps);
        let mut repl = repl.value.to_vec();
        let mut redirect = match flag.as_deref() {
            Some("redirect") => Some(302),
            Some("permanent") => Some(301),
            _ => None,
        };
        if redirect.is_none()
            && (repl.starts_with(b"http://")
                || repl.starts_with(b"https://")
                || repl.starts_with(b"$scheme"))
        {
            redirect = Some(302);
        }
        let add_args = if repl.len() > 1 && repl.ends_with(b"?") {
            repl.pop();
            false
        } else {
            true
        };
        let value = match self.eval_rewrite(&repl) {
            Ok(v) => v,
            Err(e) => {
                let at = self.at_node(id);
                self.out
                    .uncertain
                    .push(format!("{at}: rewrite result not computable: {e}"));
                return Flow::Break;
            }
        };
        let (new_uri, new_args) = match value.iter().position(|&b| b == b'?') {
            Some(i) => {
                let mut a = value[i + 1..].to_vec();
                if add_args && !self.st.args.is_empty() {
                    a.push(b'&');
                    a.extend_from_slice(&self.st.args);
                }
                (value[..i].to_vec(), a)
            }
            None => (
                value.clone(),
                if add_args {
                    self.st.args.clone()
                } else {
                    Vec::new()
                },
            ),
        };
        if let Some(status) = redirect {
            let mut to = String::from_utf8_lossy(&new_uri).into_owned();
            if !new_args.is_empty() {
                to.push('?');
                to.push_str(&String::from_utf8_lossy(&new_args));
            }
            self.step(id, format!("redirects ({status}) to {to}"));
            return Flow::Answer {
                status,
                redirect: Some(to),
                body: None,
            };
        }
        if new_uri.is_empty() {
            self.step(id, "rewrites to an empty URI".into());
            return Flow::Answer {
                status: 500,
                redirect: None,
                body: None,
            };
        }
        self.st.uri = new_uri;
        self.st.args = new_args;
        self.st.internal = true;
        self.st.valid_unparsed_uri = false;
        let shown = self.shown_uri();
        match flag.as_deref() {
            Some("break") => {
                self.st.valid_location = false;
                self.st.uri_changed = false;
                self.step(id, format!("$uri is now {shown}; stays in this location"));
                Flow::Break
            }
            Some("last") => {
                self.st.uri_changed = true;
                self.step(
                    id,
                    format!("$uri is now {shown}; locations are searched again"),
                );
                Flow::Last
            }
            _ => {
                self.st.uri_changed = true;
                self.step(id, format!("$uri is now {shown}"));
                Flow::Next
            }
        }
    }

    fn shown_uri(&self) -> String {
        let mut s = String::from_utf8_lossy(&self.st.uri).into_owned();
        if !self.st.args.is_empty() {
            s.push('?');
            s.push_str(&String::from_utf8_lossy(&self.st.args));
        }
        s
    }

    /// Evaluate a rewrite replacement: captures after the `?` are escaped
    /// for arguments when the client's URI had `%` or `+` in it.
    fn eval_rewrite(&mut self, s: &[u8]) -> Result<Vec<u8>, String> {
        let mut out = Vec::new();
        let mut in_args = false;
        for p in vars::compile(s) {
            match p {
                Piece::Lit(l) => {
                    if l.contains(&b'?') {
                        in_args = true;
                    }
                    out.extend_from_slice(&l);
                }
                Piece::Capture(i) => {
                    let c = self.capture(i);
                    if in_args && (self.st.quoted || self.st.plus) {
                        out.extend_from_slice(&escape(&c, Escape::Args));
                    } else {
                        out.extend_from_slice(&c);
                    }
                }
                Piece::Var(name) => out.extend_from_slice(&self.var(&name)?),
            }
        }
        Ok(out)
    }

    fn capture(&self, i: usize) -> Vec<u8> {
        self.st
            .captures
            .get(i)
            .cloned()
            .flatten()
            .unwrap_or_default()
    }

    /// Evaluate a complex value.
    pub(crate) fn eval(&mut self, s: &[u8]) -> Result<Vec<u8>, String> {
        let mut out = Vec::new();
        for p in vars::compile(s) {
            match p {
                Piece::Lit(l) => out.extend_from_slice(&l),
                Piece::Capture(i) => out.extend_from_slice(&self.capture(i)),
                Piece::Var(name) => out.extend_from_slice(&self.var(&name)?),
            }
        }
        Ok(out)
    }
}
