//! Renderers for `badgateway probe`: JSON (the SPEC object, extra fields
//! included), text (the verdict sentence first, then the raw facts per
//! address), and markdown for incident tickets. Everything the peer sent
//! (headers, STDERR, certificate names, first bytes) is neutralised in text
//! and markdown.

use std::fmt::Write;

use badgateway_probe::exchange::Exchange;
use badgateway_probe::report::sent_name;
use badgateway_probe::summary::describe_answer;
use badgateway_probe::tls::TlsFacts;
use badgateway_probe::{Attempt, ProbeReport};

use crate::neutralize_str as clean;

/// The SPEC JSON object, pretty-printed.
pub fn json(r: &ProbeReport) -> String {
    serde_json::to_string_pretty(r)
        .unwrap_or_else(|e| format!("{{\"error\": {:?}}}", e.to_string()))
}

fn ms(v: f64) -> String {
    if v < 10.0 {
        format!("{v:.2} ms")
    } else {
        format!("{v:.0} ms")
    }
}

fn connect_line(a: &Attempt) -> String {
    let mut s = format!("connect {}", a.connect.as_str());
    if let (Some(e), Some(name)) = (a.errno, a.errno_name) {
        let _ = write!(
            s,
            " (errno {e} {name}: {})",
            a.error.as_deref().unwrap_or("")
        );
    }
    let _ = write!(s, " in {}", ms(a.ms));
    s
}

fn exchange_lines(ex: &Exchange, indent: &str, out: &mut String) {
    let first_byte = ex
        .first_byte_ms
        .map(|v| format!(", first byte after {}", ms(v)))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "{indent}sent {} → {} ({} bytes, read ended: {}{first_byte})",
        sent_name(ex.sent),
        clean(&describe_answer(ex)),
        ex.bytes,
        ex.ended.as_str()
    );
    if let Some(t) = &ex.tls {
        tls_lines(t, indent, out);
    }
    if ex.bytes > 0 {
        let text = &ex.first_text;
        let binary = text
            .chars()
            .filter(|c| c.is_control() && !matches!(c, '\r' | '\n' | '\t') || *c == '\u{fffd}')
            .count()
            * 8
            > text.chars().count();
        if binary {
            let _ = writeln!(out, "{indent}  first bytes (hex): {}", ex.first_bytes);
        } else {
            let _ = writeln!(out, "{indent}  first bytes: \"{}\"", clean(text));
        }
    }
    if let Some(h) = &ex.http {
        let _ = writeln!(
            out,
            "{indent}  HTTP head: {} {} {}, {} header fields, {} bytes",
            clean(&h.version),
            h.status,
            clean(&h.reason),
            h.header_count,
            h.header_bytes
        );
    }
    if let Some(e) = &ex.http_error {
        let _ = writeln!(out, "{indent}  invalid HTTP head: {}", clean(e));
    }
    if let Some(f) = &ex.fastcgi {
        if let Some(v) = &f.violation {
            let _ = writeln!(out, "{indent}  nginx would log: {}", clean(v));
        }
        if !f.stderr.is_empty() {
            let _ = writeln!(
                out,
                "{indent}  FastCGI stderr: \"{}\"",
                clean(f.stderr.trim())
            );
        }
        if let Some(p) = f.protocol_status_name() {
            let _ = writeln!(
                out,
                "{indent}  END_REQUEST: appStatus {}, {p}",
                f.app_status.unwrap_or(0)
            );
        }
    }
    if let Some(h) = &ex.h2
        && h.first_length == Some(4_740_180)
    {
        let _ = writeln!(
            out,
            "{indent}  nginx would log: upstream sent too large http2 frame: 4740180"
        );
    }
    if let Some(inner) = &ex.inner {
        exchange_lines(inner, &format!("{indent}  "), out);
    }
}

fn tls_lines(t: &TlsFacts, indent: &str, out: &mut String) {
    let sni = t
        .sni
        .as_deref()
        .map_or("no SNI".to_owned(), |s| format!("SNI {}", clean(s)));
    if t.ok {
        let _ = writeln!(
            out,
            "{indent}  TLS: {} {} ({sni}{}) in {}",
            t.version.as_deref().unwrap_or("?"),
            t.cipher.as_deref().unwrap_or(""),
            t.alpn
                .as_deref()
                .map(|a| format!(", ALPN {}", clean(a)))
                .unwrap_or_default(),
            ms(t.ms)
        );
    } else {
        let _ = writeln!(
            out,
            "{indent}  TLS handshake failed ({sni}): {}{}{}",
            t.error_kind.unwrap_or("error"),
            t.alert.map(|a| format!(", alert {a}")).unwrap_or_default(),
            t.error
                .as_deref()
                .map(|e| format!(" — {}", clean(e)))
                .unwrap_or_default()
        );
    }
    if t.legacy_only {
        let _ = writeln!(
            out,
            "{indent}  the peer seems to offer only TLS older than 1.2 (this probe speaks TLS 1.2/1.3 only)"
        );
    }
    if let Some(c) = &t.cert {
        let _ = writeln!(
            out,
            "{indent}  certificate: {} (issuer {}), valid {} → {}{}{}",
            clean(&c.subject),
            clean(&c.issuer),
            c.not_before,
            c.not_after,
            match t.days_left {
                Some(d) if d < 0 => format!(" (EXPIRED {} days ago)", -d),
                Some(d) => format!(" ({d} days left)"),
                None => String::new(),
            },
            if c.sans.is_empty() {
                String::new()
            } else {
                format!(", SANs {}", clean(&c.sans.join(" ")))
            }
        );
    }
    if let Some(v) = &t.verification {
        let verdict = if v.ok {
            "verifies".to_owned()
        } else {
            format!(
                "does not verify ({}: {})",
                v.error_kind.unwrap_or("error"),
                clean(v.error.as_deref().unwrap_or(""))
            )
        };
        let _ = writeln!(
            out,
            "{indent}  verification for {}: {verdict} (nginx checks only with proxy_ssl_verify on)",
            clean(&v.name)
        );
    }
}

/// Human-readable text, the verdict first.
pub fn text(r: &ProbeReport) -> String {
    let mut out = String::new();
    let mark = if r.verdict.is_ok() { "OK" } else { "PROBLEM" };
    let _ = writeln!(out, "{mark}: {}", clean(&r.summary));
    if let Some(c) = r.cause {
        let _ = writeln!(out, "cause: {} ({})", c.code(), c.plain());
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "target:   {} (nginx speaks {}; peer speaks {})",
        clean(&r.target),
        r.nginx_speaks.human(),
        r.protocol.as_str()
    );
    if let Some(res) = &r.resolution {
        if res.literal {
            let _ = writeln!(out, "resolved: IP literal, no lookup");
        } else if res.ok() {
            let list: Vec<String> = res.addresses.iter().map(ToString::to_string).collect();
            let gai: Vec<String> = res
                .getaddrinfo_order
                .iter()
                .map(ToString::to_string)
                .collect();
            let _ = writeln!(
                out,
                "resolved: {} → {} (nginx order, IPv4 first; getaddrinfo order {}) in {}",
                clean(&res.host),
                list.join(", "),
                gai.join(", "),
                ms(res.ms)
            );
        } else {
            let _ = writeln!(
                out,
                "resolved: {} failed: {} ({})",
                clean(&res.host),
                res.eai_name.unwrap_or("no address"),
                res.error.as_deref().unwrap_or("")
            );
        }
    }
    for (i, a) in r.attempts.iter().enumerate() {
        let _ = writeln!(
            out,
            "address {}: {} — {} — {}",
            i + 1,
            clean(&a.address),
            connect_line(a),
            a.verdict.as_str()
        );
        if let Some(ex) = &a.exchange {
            exchange_lines(ex, "  ", &mut out);
        }
        if let Some(alt) = &a.tls_alternate {
            let _ = writeln!(out, "  other SNI setting:");
            tls_lines(alt, "  ", &mut out);
        }
        for ex in &a.identify {
            let _ = writeln!(out, "  identify:");
            exchange_lines(ex, "    ", &mut out);
        }
    }
    if let Some(w) = &r.worker {
        let groups: Vec<String> = w.identity.groups.iter().map(ToString::to_string).collect();
        let _ = writeln!(
            out,
            "worker:   {} uid {} gid {} groups {}",
            clean(&w.identity.user),
            w.identity.uid,
            w.identity.gid,
            groups.join(",")
        );
        for p in &w.chain {
            let _ = writeln!(
                out,
                "  {:04o} {}:{} {}",
                p.mode,
                p.uid,
                p.gid,
                clean(&p.path.display().to_string())
            );
        }
        let computed = if let Some(m) = &w.computed.missing {
            format!("{} does not exist", clean(&m.display().to_string()))
        } else if let Some(d) = &w.computed.denied_by {
            format!(
                "denied: {} needs {} ({} class, mode {})",
                clean(&d.path.display().to_string()),
                d.needs,
                d.class,
                d.mode
            )
        } else {
            "allowed".to_owned()
        };
        let _ = writeln!(out, "  computed from modes: {computed}");
        match (&w.attempt, &w.attempt_skipped) {
            (Some(a), _) => {
                let _ = writeln!(
                    out,
                    "  real connect as the worker: {}{}",
                    a.connect.as_str(),
                    a.errno
                        .map(|e| format!(" (errno {e} {})", a.errno_name.unwrap_or("")))
                        .unwrap_or_default()
                );
            }
            (None, Some(why)) => {
                let _ = writeln!(
                    out,
                    "  real connect as the worker: not tried ({})",
                    clean(why)
                );
            }
            _ => {}
        }
    }
    let _ = writeln!(out, "total:    {}", ms(r.ms));
    out
}

/// Markdown for tickets.
pub fn markdown(r: &ProbeReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "### Probe of `{}`\n",
        clean(&r.target).replace('`', "'")
    );
    let _ = writeln!(
        out,
        "**{}** — {}\n",
        if r.verdict.is_ok() { "OK" } else { "Problem" },
        md(&clean(&r.summary))
    );
    if let Some(c) = r.cause {
        let _ = writeln!(out, "- cause: `{}` ({})", c.code(), c.plain());
    }
    let _ = writeln!(out, "- nginx speaks: {}", r.nginx_speaks.human());
    let _ = writeln!(out, "- peer speaks: `{}`\n", r.protocol.as_str());
    let _ = writeln!(out, "| address | connect | errno | ms | answer | verdict |");
    let _ = writeln!(out, "|---|---|---|---|---|---|");
    for a in &r.attempts {
        let answer = a
            .exchange
            .as_ref()
            .map(|e| md(&clean(&describe_answer(e))))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {:.2} | {} | {} |",
            clean(&a.address),
            a.connect.as_str(),
            a.errno.map(|e| e.to_string()).unwrap_or_else(|| "—".into()),
            a.ms,
            answer,
            a.verdict.as_str()
        );
    }
    if let Some(w) = &r.worker {
        let _ = writeln!(
            out,
            "\nWorker `{}` (uid {}): {}",
            clean(&w.identity.user),
            w.identity.uid,
            if w.denied() { "**denied**" } else { "allowed" }
        );
    }
    out
}

fn md(s: &str) -> String {
    s.replace('|', "\\|")
}
