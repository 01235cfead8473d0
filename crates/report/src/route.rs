//! Renderers for `badgateway route`: JSON (the SPEC contract, straight from
//! the [`Route`] value), text for a person at a terminal (server chosen and
//! why, location chosen and why, the rewrites on the way, the upstream
//! request line, warnings and what could not be known), and markdown for a
//! ticket. Everything that came from the URL, the headers or the config is
//! neutralised before it reaches a terminal.

use std::fmt::Write;

use badgateway_route::{Alternative, LocationHit, PassHit, Route};

use crate::neutralize_str;

/// The JSON document (pretty-printed, with a final newline).
pub fn json(r: &Route) -> String {
    let mut s = serde_json::to_string_pretty(r)
        .unwrap_or_else(|e| format!("{{\"version\":1,\"error\":\"cannot serialise route: {e}\"}}"));
    s.push('\n');
    s
}

fn n(s: &str) -> String {
    neutralize_str(s).into_owned()
}

fn loc_label(l: &LocationHit) -> String {
    match l.modifier.as_str() {
        "" => format!("location {}", n(&l.path)),
        "@" => format!("location @{}", n(&l.path)),
        m => format!("location {m} {}", n(&l.path)),
    }
}

fn servers(p: &PassHit) -> String {
    if p.peers.is_empty() {
        return "(not known statically)".into();
    }
    p.peers
        .iter()
        .map(|s| {
            let mut a = n(&s.address);
            if s.backup {
                a.push_str(" (backup)");
            }
            if s.down {
                a.push_str(" (down)");
            }
            a
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn pass_lines(p: &PassHit, indent: &str, out: &mut String) {
    let _ = writeln!(
        out,
        "{} {}  ({}:{})",
        p.directive,
        n(&p.target),
        n(&p.file),
        p.line
    );
    match &p.upstream {
        Some(g) => {
            let _ = writeln!(out, "{indent}upstream {}: {}", n(g), servers(p));
        }
        None => {
            let _ = writeln!(out, "{indent}server {}", servers(p));
        }
    }
    if let Some(line) = &p.request_line {
        let _ = writeln!(out, "{indent}request line: {}", n(line));
    } else if let Some(u) = &p.upstream_uri {
        let _ = writeln!(out, "{indent}URI: {}", n(u));
    }
    if let Some(rule) = &p.uri_rule {
        let _ = writeln!(out, "{indent}({rule})");
    }
    for (k, v) in &p.params {
        let _ = writeln!(out, "{indent}{k} = {}", n(v));
    }
}

fn outcome_text(alt: &Alternative) -> String {
    if let Some(p) = &alt.pass {
        let mut s = format!("{} {}", p.directive, n(&p.target));
        if let Some(u) = &p.upstream_uri {
            let _ = write!(s, " with URI {}", n(u));
        }
        if let Some(l) = &alt.location {
            let _ = write!(s, " in {} ({}:{})", loc_label(l), n(&l.file), l.line);
        }
        return s;
    }
    match alt.status {
        Some(code) => format!("nginx answers {code}"),
        None => "no answer".into(),
    }
}

/// Text for a terminal.
pub fn text(r: &Route) -> String {
    let mut out = String::new();
    let q = &r.request;
    let _ = writeln!(out, "{} {}", n(&q.method), n(&q.url));
    let _ = writeln!(
        out,
        "          connects to {}, Host: {}",
        n(&q.connect),
        n(&q.host_header)
    );
    if !q.uri.is_empty() {
        let args = if q.args.is_empty() {
            String::new()
        } else {
            format!("  $args {}", n(&q.args))
        };
        let _ = writeln!(out, "          $uri {}{args}", n(&q.uri));
    }
    out.push('\n');
    match &r.server {
        Some(s) => {
            let _ = writeln!(
                out,
                "server    {}:{} server_name {} (listen {})",
                n(&s.file),
                s.line,
                if s.server_name.is_empty() {
                    "\"\"".to_owned()
                } else {
                    n(&s.server_name)
                },
                n(&s.listen)
            );
            let _ = writeln!(out, "          {}", n(&s.reason));
        }
        None => {
            let _ = writeln!(out, "server    none: no server takes this connection");
        }
    }
    match &r.location {
        Some(l) => {
            let _ = writeln!(out, "location  {}:{} {}", n(&l.file), l.line, loc_label(l));
            let _ = writeln!(out, "          {}", n(&l.reason));
        }
        None if r.server.is_some() && r.status != Some(400) => {
            let _ = writeln!(
                out,
                "location  none matched: the server's own configuration applies"
            );
        }
        None => {}
    }
    for (i, s) in r.steps.iter().enumerate() {
        let head = if i == 0 { "steps     " } else { "          " };
        let _ = writeln!(out, "{head}{} {}", n(&s.at), n(&s.directive));
        let _ = writeln!(out, "            → {}", n(&s.effect));
    }
    if let Some(p) = &r.pass {
        out.push_str("upstream  ");
        pass_lines(p, "          ", &mut out);
    } else if let Some(code) = r.status {
        let mut line = format!("answer    nginx answers {code} itself");
        if let Some(to) = &r.redirect {
            let _ = write!(line, " → Location: {}", n(to));
        }
        if let Some(b) = &r.body {
            let _ = write!(line, " with body {:?}", n(b));
        }
        let _ = writeln!(out, "{line}");
    }
    for a in &r.alternatives {
        let _ = writeln!(out, "otherwise {}:", n(&a.when));
        let _ = writeln!(out, "            {}", outcome_text(a));
    }
    for w in &r.warnings {
        let _ = writeln!(out, "warning   {}", n(w));
    }
    for u in &r.uncertain {
        let _ = writeln!(out, "uncertain {}", n(u));
    }
    out
}

/// Markdown escaping for table-free prose: backticks and pipes.
fn md(s: &str) -> String {
    n(s).replace('`', "'").replace('|', "\\|")
}

/// Markdown for an incident ticket.
pub fn markdown(r: &Route) -> String {
    let mut out = String::new();
    let q = &r.request;
    let _ = writeln!(out, "## Route of `{} {}`\n", md(&q.method), md(&q.url));
    let _ = writeln!(
        out,
        "- **Connection:** `{}`, Host `{}`; `$uri` = `{}`{}",
        md(&q.connect),
        md(&q.host_header),
        md(&q.uri),
        if q.args.is_empty() {
            String::new()
        } else {
            format!(", `$args` = `{}`", md(&q.args))
        }
    );
    match &r.server {
        Some(s) => {
            let _ = writeln!(
                out,
                "- **Server:** `{}:{}` server_name `{}` on `{}` — {}",
                md(&s.file),
                s.line,
                md(&s.server_name),
                md(&s.listen),
                md(&s.reason)
            );
        }
        None => out.push_str("- **Server:** none takes this connection\n"),
    }
    if let Some(l) = &r.location {
        let _ = writeln!(
            out,
            "- **Location:** `{}:{}` `{}` — {}",
            md(&l.file),
            l.line,
            md(&loc_label(l)),
            md(&l.reason)
        );
    }
    for s in &r.steps {
        let _ = writeln!(
            out,
            "- **Step:** `{}` `{}` → {}",
            md(&s.at),
            md(&s.directive),
            md(&s.effect)
        );
    }
    if let Some(p) = &r.pass {
        let _ = writeln!(
            out,
            "- **Upstream:** `{} {}` (`{}:{}`) → {}{}",
            p.directive,
            md(&p.target),
            md(&p.file),
            p.line,
            md(&servers(p)),
            p.request_line
                .as_ref()
                .map(|l| format!(", request line `{}`", md(l)))
                .unwrap_or_default()
        );
    } else if let Some(code) = r.status {
        let _ = writeln!(
            out,
            "- **Answer:** nginx answers **{code}** itself{}",
            r.redirect
                .as_ref()
                .map(|t| format!(" (Location `{}`)", md(t)))
                .unwrap_or_default()
        );
    }
    for a in &r.alternatives {
        let _ = writeln!(
            out,
            "- **Otherwise** {}: {}",
            md(&a.when),
            md(&outcome_text(a))
        );
    }
    for w in &r.warnings {
        let _ = writeln!(out, "- **Warning:** {}", md(w));
    }
    for u in &r.uncertain {
        let _ = writeln!(out, "- **Not known statically:** {}", md(u));
    }
    out
}
