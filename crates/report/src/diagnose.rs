//! `badgateway diagnose` output. Text is for a person at 3 a.m.: one
//! headline per finding (the cause in plain words, the upstream, how many
//! requests failed), the evidence under it, the fix last. JSON follows the
//! SPEC contract:
//!
//! ```json
//! {"version": 1,
//!  "nginx": {"binary": "/usr/sbin/nginx", "version": "1.22.1", "config": "/etc/nginx/nginx.conf", "master_pid": 1234},
//!  "findings": [{"cause": "socket-permission", "severity": "critical", "confidence": 0.95,
//!                "upstream": "unix:/run/php/php8.2-fpm.sock", "locations": ["/etc/nginx/sites-enabled/app.conf:14"],
//!                "summary": "…", "evidence": [{"kind": "log", "text": "…", "count": 17, "first": "…", "last": "…"}],
//!                "fix": "…"}]}
//! ```
//!
//! Extra fields (`failed_requests`, `live`, `checked`, `not_checked`,
//! `window`) are additions; the SPEC fields keep their meaning.

use std::fmt::Write;

use badgateway_engine::evidence::NginxInfo;
use badgateway_engine::{Diagnosis, Finding};
use serde::Serialize;

use crate::escape::neutralize_str;
use crate::style::Style;

/// What the report header says about the run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Context {
    /// The nginx diagnosed.
    pub nginx: NginxInfo,
    /// The log window, when logs were read.
    pub window: Option<(String, String)>,
    /// Requests in the access log window and how many failed with 5xx.
    pub requests: Option<(u64, u64)>,
}

#[derive(Serialize)]
struct JsonReport<'a> {
    version: u32,
    nginx: &'a NginxInfo,
    findings: &'a [Finding],
    #[serde(skip_serializing_if = "Option::is_none")]
    window: Option<&'a (String, String)>,
    checked: &'a [String],
    not_checked: &'a [String],
}

/// The SPEC JSON object, pretty-printed, with a trailing newline.
pub fn json(d: &Diagnosis, ctx: &Context) -> String {
    let r = JsonReport {
        version: 1,
        nginx: &ctx.nginx,
        findings: &d.findings,
        window: ctx.window.as_ref(),
        checked: &d.checked,
        not_checked: &d.not_checked,
    };
    serde_json::to_string_pretty(&r).unwrap_or_else(|_| "{}".into()) + "\n"
}

/// Text for a terminal.
pub fn text(d: &Diagnosis, ctx: &Context, style: Style) -> String {
    let mut o = String::new();
    let n = &ctx.nginx;
    let who = match (&n.version, &n.config, n.master_pid) {
        (v, Some(c), pid) => format!(
            "nginx{} · {}{}",
            v.as_deref().map(|v| format!(" {v}")).unwrap_or_default(),
            c,
            pid.map(|p| format!(" · master pid {p}"))
                .unwrap_or_else(|| " · not running".into())
        ),
        _ => "nginx (config not found)".into(),
    };
    let _ = writeln!(
        o,
        "{}",
        style.bold(&format!("badgateway diagnose — {}", neutralize_str(&who)))
    );
    if let Some((a, b)) = &ctx.window {
        let reqs = ctx
            .requests
            .map(|(all, failed)| format!(" · {all} requests, {failed} failed with 5xx"))
            .unwrap_or_default();
        let _ = writeln!(o, "{}", style.dim(&format!("log window {a} – {b}{reqs}")));
    }
    let _ = writeln!(o);
    if d.findings.is_empty() {
        let _ = writeln!(o, "{}", style.paint("1;32", "No problem found."));
    }
    for (i, f) in d.findings.iter().enumerate() {
        finding_text(&mut o, i + 1, f, style);
    }
    if !d.checked.is_empty() {
        let _ = writeln!(o, "{}", style.bold("Checked"));
        for c in &d.checked {
            let _ = writeln!(o, "  {}", neutralize_str(c));
        }
    }
    if !d.not_checked.is_empty() {
        let _ = writeln!(o, "{}", style.bold("Not checked"));
        for c in &d.not_checked {
            let _ = writeln!(o, "  {}", neutralize_str(c));
        }
    }
    o
}

fn finding_text(o: &mut String, i: usize, f: &Finding, style: Style) {
    let impact = if f.failed_requests > 0 {
        let noun = if f.failed_requests == 1 {
            "request"
        } else {
            "requests"
        };
        format!("  [{} {noun} failed]", f.failed_requests)
    } else if f.live {
        "  [failing now]".into()
    } else {
        String::new()
    };
    let _ = writeln!(
        o,
        "{i}. {} {} — {}{}",
        style.severity(f.severity),
        style.bold(f.cause.code()),
        f.cause.plain(),
        impact
    );
    let mut place = Vec::new();
    if let Some(u) = &f.upstream {
        place.push(format!("upstream {}", neutralize_str(u)));
    }
    if !f.locations.is_empty() {
        place.push(neutralize_str(&f.locations.join(", ")).into_owned());
    }
    if !place.is_empty() {
        let _ = writeln!(o, "   {}", style.dim(&place.join(" · ")));
    }
    let _ = writeln!(o, "   {}", neutralize_str(&f.summary));
    for e in &f.evidence {
        let count = e.count.map(|c| format!(" ×{c}")).unwrap_or_default();
        let when = match (&e.first, &e.last) {
            (Some(a), Some(b)) if a != b => format!(" {a} – {b}"),
            (Some(a), _) => format!(" {a}"),
            _ => String::new(),
        };
        let head = style.dim(&format!("{}{count}{when}", e.kind));
        let _ = writeln!(o, "     {head}  {}", neutralize_str(&shorten(&e.text, 400)));
    }
    let _ = writeln!(
        o,
        "   {} {}",
        style.paint("1;32", "fix:"),
        neutralize_str(&f.fix)
    );
    let _ = writeln!(o);
}

/// Markdown for an incident ticket.
pub fn markdown(d: &Diagnosis, ctx: &Context) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "# badgateway diagnosis\n");
    if let Some(c) = &ctx.nginx.config {
        let _ = writeln!(
            o,
            "nginx {} — `{}`{}\n",
            ctx.nginx.version.as_deref().unwrap_or("(version unknown)"),
            c,
            ctx.nginx
                .master_pid
                .map(|p| format!(", master pid {p}"))
                .unwrap_or_default()
        );
    }
    if let Some((a, b)) = &ctx.window {
        let _ = writeln!(o, "Log window: {a} – {b}\n");
    }
    if d.findings.is_empty() {
        let _ = writeln!(o, "No problem found.\n");
    }
    for (i, f) in d.findings.iter().enumerate() {
        let _ = writeln!(
            o,
            "## {}. `{}` ({}) — {}\n",
            i + 1,
            f.cause.code(),
            f.severity,
            md(f.cause.plain())
        );
        let _ = writeln!(o, "{}\n", md(&f.summary));
        if let Some(u) = &f.upstream {
            let _ = writeln!(o, "- Upstream: `{}`", md_code(u));
        }
        if !f.locations.is_empty() {
            let locs: Vec<String> = f
                .locations
                .iter()
                .map(|l| format!("`{}`", md_code(l)))
                .collect();
            let _ = writeln!(o, "- Config: {}", locs.join(", "));
        }
        if f.failed_requests > 0 {
            let _ = writeln!(o, "- Failed requests: {}", f.failed_requests);
        }
        let _ = writeln!(o, "\nEvidence:\n\n```");
        for e in &f.evidence {
            let count = e.count.map(|c| format!(" x{c}")).unwrap_or_default();
            let _ = writeln!(
                o,
                "[{}{count}] {}",
                e.kind,
                neutralize_str(&e.text).replace("```", "'''")
            );
        }
        let _ = writeln!(o, "```\n\n**Fix:** {}\n", md(&f.fix));
    }
    if !d.not_checked.is_empty() {
        let _ = writeln!(o, "## Not checked\n");
        for c in &d.not_checked {
            let _ = writeln!(o, "- {}", md(c));
        }
    }
    o
}

fn md(s: &str) -> String {
    neutralize_str(s).replace('<', "&lt;").replace('>', "&gt;")
}

fn md_code(s: &str) -> String {
    neutralize_str(s).replace('`', "'")
}

fn shorten(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

#[cfg(test)]
mod tests {
    use super::*;
    use badgateway_cause::{Cause, Severity};
    use badgateway_engine::Proof;

    fn sample() -> Diagnosis {
        Diagnosis {
            findings: vec![Finding {
                cause: Cause::SocketMissing,
                severity: Severity::Critical,
                confidence: 0.95,
                upstream: Some("unix:/run/php/php8.1-fpm.sock".into()),
                locations: vec!["sites/app.conf:14".into()],
                summary: "The socket does not exist.".into(),
                evidence: vec![Proof {
                    kind: "log",
                    text: "GET /\x1b[2J HTTP/1.1".into(),
                    count: Some(3),
                    first: Some("a".into()),
                    last: Some("b".into()),
                }],
                fix: "fastcgi_pass unix:/run/php/php8.2-fpm.sock;".into(),
                failed_requests: 3,
                live: true,
            }],
            checked: vec!["config".into()],
            not_checked: vec!["probes: --no-probe".into()],
            logged_failures: 12,
        }
    }

    #[test]
    fn json_has_the_spec_fields() {
        let v: serde_json::Value =
            serde_json::from_str(&json(&sample(), &Context::default())).unwrap();
        assert_eq!(v["version"], 1);
        let f = &v["findings"][0];
        for k in [
            "cause",
            "severity",
            "confidence",
            "upstream",
            "locations",
            "summary",
            "evidence",
            "fix",
        ] {
            assert!(!f[k].is_null(), "missing {k}");
        }
        assert_eq!(f["cause"], "socket-missing");
        assert_eq!(f["severity"], "critical");
        assert_eq!(f["evidence"][0]["count"], 3);
        assert!(v["nginx"].is_object());
    }

    #[test]
    fn text_neutralises_log_bytes_and_puts_the_fix_last() {
        let t = text(&sample(), &Context::default(), Style::default());
        assert!(!t.contains('\x1b'));
        assert!(t.contains("\\x1b[2J"));
        assert!(t.contains("CRITICAL socket-missing"));
        let fix = t.find("fix:").unwrap();
        assert!(t.find("log ×3").unwrap() < fix);
        assert!(markdown(&sample(), &Context::default()).contains("**Fix:**"));
    }
}
