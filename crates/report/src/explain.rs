//! Text and markdown renderings of an [`Explanation`] (`badgateway explain`).
//! The line and its fields are attacker-controlled and neutralised.

use std::fmt::Write;

use badgateway_logs::Explanation;
use badgateway_logs::catalog::Kind;

use crate::Style;
use crate::escape::neutralize_str as clean;
use crate::logs::LogStyle;

/// The text explanation of one entry.
pub fn render_text(x: &Explanation, st: &Style) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{} {}", st.bold("line:"), st.dim(&clean(&x.line)));
    if x.header_missing {
        let _ = writeln!(
            out,
            "      (no timestamp/level header: read as the message part only)"
        );
    }
    let verdict = match x.cause {
        _ if x.kind == Kind::NoLiveUpstreams => {
            "a symptom (an upstream error): the root cause is whatever disabled the group's servers"
                .to_owned()
        }
        Some(c) if x.upstream_error => format!(
            "{} — {} (an upstream error)",
            st.cause(c.code()).trim_end(),
            c.plain()
        ),
        _ => "not an upstream error".to_owned(),
    };
    let _ = writeln!(out, "\n{}  {verdict}", st.head("VERDICT"));
    let _ = writeln!(
        out,
        "  message:  {} [{}]",
        clean(&x.message),
        x.kind.as_str()
    );
    let _ = writeln!(out, "  nginx was {}", x.doing);
    if let Some(a) = &x.action {
        let _ = writeln!(out, "            (while {})", clean(a));
    }
    if let Some(e) = &x.errno {
        let name = e.name.unwrap_or("?");
        let _ = writeln!(out, "  errno:    {} {} ({})", e.code, name, clean(&e.text));
        if let Some(m) = e.meaning {
            let _ = writeln!(out, "            {m}");
        }
    }
    let _ = writeln!(out, "  result:   the client got {}", x.client_status_text);
    let c = &x.context;
    if let Some(p) = &c.peer {
        let scheme = c.scheme.as_deref().unwrap_or("");
        let _ = writeln!(out, "  upstream: {} {}", clean(p), clean(scheme));
    }
    for (label, v) in [
        ("request: ", &c.request),
        ("server:  ", &c.server),
        ("host:    ", &c.host),
        ("client:  ", &c.client),
    ] {
        if let Some(v) = v {
            let _ = writeln!(out, "  {label} {}", clean(v));
        }
    }
    let _ = writeln!(out, "\n{}  {}", st.head("WHAT HAPPENED"), x.explanation);
    for n in &x.notes {
        let _ = writeln!(out, "  note: {}", clean(n));
    }
    if !x.likely.is_empty() {
        let _ = writeln!(out, "\n{}", st.head("LIKELY CAUSES"));
        for (i, l) in x.likely.iter().enumerate() {
            let _ = writeln!(out, "  {}. {l}", i + 1);
        }
    }
    if !x.checks.is_empty() {
        let _ = writeln!(out, "\n{}", st.head("NEXT CHECKS"));
        for l in x.checks {
            let _ = writeln!(out, "  • {l}");
        }
    }
    if !x.fix.is_empty() {
        let _ = writeln!(out, "\n{}  {}", st.head("FIX"), x.fix);
    }
    if !x.directives.is_empty() {
        let _ = writeln!(out, "\n{}  {}", st.head("CONFIG"), x.directives.join(", "));
    }
    if !x.versions.is_empty() {
        let _ = writeln!(out, "  nginx versions: {}", x.versions);
    }
    out
}

/// The markdown explanation of one entry.
pub fn render_markdown(x: &Explanation) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "```\n{}\n```\n", clean(&x.line).replace("```", "'''"));
    match x.cause {
        Some(c) if x.upstream_error => {
            let _ = writeln!(out, "**Cause:** `{}` — {}\n", c.code(), c.plain());
        }
        _ => {
            let _ = writeln!(out, "**Not an upstream error.**\n");
        }
    }
    let _ = writeln!(out, "- nginx was {}", x.doing);
    if let Some(e) = &x.errno {
        let _ = writeln!(
            out,
            "- errno {} `{}`: {}",
            e.code,
            e.name.unwrap_or("?"),
            e.meaning.unwrap_or("")
        );
    }
    let _ = writeln!(out, "- the client got {}\n", x.client_status_text);
    let _ = writeln!(out, "{}\n", x.explanation);
    for n in &x.notes {
        let _ = writeln!(out, "> {}\n", clean(n));
    }
    if !x.checks.is_empty() {
        let _ = writeln!(out, "**Next checks:**\n");
        for l in x.checks {
            let _ = writeln!(out, "- `{}`", l.replace('`', "'"));
        }
        out.push('\n');
    }
    if !x.fix.is_empty() {
        let _ = writeln!(out, "**Fix:** {}\n", x.fix);
    }
    out
}
