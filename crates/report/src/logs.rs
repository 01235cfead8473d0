//! Text and markdown renderings of a [`LogReport`] (`badgateway logs`).
//!
//! The text report reads top-down in ten seconds: the verdict (top causes
//! with counts and shares), a timeline, where it happens (upstreams,
//! vhosts, locations), the access-log view, and then each cause in detail
//! with one raw line, the explanation, the checks and the fix. Every
//! string that came from a log is neutralised: logs are attacker-written.

use std::fmt::Write;

use badgateway_logs::LogReport;
use badgateway_logs::catalog::{self, Kind};
use badgateway_logs::report::{CauseReport, NamedCount, Timeline};

use crate::Style;
use crate::escape::neutralize_str as clean;

/// Rows in the verdict and top lists.
const TOP: usize = 8;
/// Columns of the timeline.
const COLS: usize = 60;

fn share(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

fn breakdown(m: &std::collections::BTreeMap<String, u64>, max: usize) -> String {
    let mut v: Vec<(&String, &u64)> = m.iter().collect();
    v.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
    let mut out: Vec<String> = v
        .iter()
        .take(max)
        .map(|(k, c)| format!("{} {}", clean(k), n(**c)))
        .collect();
    if v.len() > max {
        out.push(format!("+{} more", v.len() - max));
    }
    out.join(" · ")
}

/// The catalogue row that best describes a cause's entries: its most
/// frequent direct kind.
pub fn main_kind(c: &CauseReport) -> Option<Kind> {
    let mut v: Vec<(&String, &u64)> = c.kinds.iter().collect();
    v.sort_by(|a, b| {
        let nl = |k: &str| k == Kind::NoLiveUpstreams.as_str();
        nl(a.0).cmp(&nl(b.0)).then(b.1.cmp(a.1))
    });
    v.first()
        .and_then(|(k, _)| Kind::ALL.iter().copied().find(|x| x.as_str() == k.as_str()))
}

fn sparkline(values: &[u64]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let max = values.iter().copied().max().unwrap_or(0);
    values
        .iter()
        .map(|&v| {
            if v == 0 {
                '·'
            } else {
                let i = ((v * 8).div_ceil(max.max(1))).clamp(1, 8) - 1;
                BARS[i as usize]
            }
        })
        .collect()
}

/// Columns of the timeline: (start label, per-column bucket index ranges).
fn columns(t: &Timeline) -> Option<(i64, i64, usize)> {
    let first = t.buckets.first()?.start.0;
    let last = t.buckets.last()?.start.0;
    let w = i64::from(t.bucket_seconds.max(1));
    let nb = ((last - first) / w + 1) as usize;
    let per = nb.div_ceil(COLS).max(1);
    Some((first, w, per))
}

fn series(t: &Timeline, f: impl Fn(&badgateway_logs::report::Bucket) -> u64) -> Vec<u64> {
    let Some((first, w, per)) = columns(t) else {
        return Vec::new();
    };
    let last = t.buckets.last().map_or(first, |b| b.start.0);
    let ncols = (((last - first) / w) as usize / per) + 1;
    let mut cols = vec![0u64; ncols];
    for b in &t.buckets {
        let i = ((b.start.0 - first) / w) as usize / per;
        if let Some(c) = cols.get_mut(i) {
            *c += f(b);
        }
    }
    cols
}

fn timeline(out: &mut String, r: &LogReport, st: &Style) {
    let t = &r.timeline;
    let Some((first, w, per)) = columns(t) else {
        return;
    };
    let last = t.buckets.last().map_or(first, |b| b.start.0);
    let span = per as i64 * w;
    let unit = if span >= 3600 && span % 3600 == 0 {
        format!("{} h", span / 3600)
    } else if span % 60 == 0 {
        format!("{} min", span / 60)
    } else {
        format!("{span} s")
    };
    let _ = writeln!(
        out,
        "\n{}  {} → {}, one column = {unit}",
        st.head("TIMELINE"),
        badgateway_logs::LocalTime(first),
        badgateway_logs::LocalTime(last + w - 1)
    );
    let mut rows: Vec<(String, Vec<u64>)> = Vec::new();
    for c in r.error_log.causes.iter().take(4) {
        let code = c.cause.code();
        rows.push((
            code.to_owned(),
            series(t, |b| b.by_cause.get(code).copied().unwrap_or(0)),
        ));
    }
    if let Some(a) = &r.access_log {
        if a.by_status.contains_key("502") {
            rows.push(("access 502".into(), series(t, |b| b.status_502)));
        }
        if a.by_status.contains_key("504") {
            rows.push(("access 504".into(), series(t, |b| b.status_504)));
        }
    }
    for (name, vals) in rows {
        let total: u64 = vals.iter().sum();
        let peak = vals.iter().copied().max().unwrap_or(0);
        let _ = writeln!(
            out,
            "  {:<20} {}  {} (peak {}/col)",
            name,
            sparkline(&vals),
            n(total),
            n(peak)
        );
    }
}

fn named_list(out: &mut String, title: &str, rows: &[NamedCount], st: &Style) {
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n{}", st.head(title));
    for row in rows.iter().take(TOP) {
        let _ = writeln!(
            out,
            "  {:<34} {:>8}  {}",
            clean(&row.name),
            n(row.count),
            breakdown(&row.by, 3)
        );
    }
    if rows.len() > TOP {
        let rest: u64 = rows[TOP..].iter().map(|r| r.count).sum();
        let _ = writeln!(out, "  … {} more ({})", rows.len() - TOP, n(rest));
    }
}

/// The text report.
pub fn render_text(r: &LogReport, st: &Style) -> String {
    let mut out = String::new();
    let inputs = r.inputs.len();
    let _ = write!(
        out,
        "{} {} input{}, {} lines",
        st.bold("badgateway logs:"),
        inputs,
        if inputs == 1 { "" } else { "s" },
        n(r.lines)
    );
    if let (Some(a), Some(b)) = (r.first, r.last) {
        let _ = write!(out, ", {a} → {b}");
    }
    out.push('\n');
    if r.window.since.is_some() || r.window.until.is_some() {
        let show =
            |t: Option<badgateway_logs::LocalTime>| t.map_or("…".to_owned(), |t| t.to_string());
        let _ = writeln!(
            out,
            "window: {} → {}",
            show(r.window.since),
            show(r.window.until)
        );
    }
    verdict(&mut out, r, st);
    timeline(&mut out, r, st);
    let e = &r.error_log;
    if !e.upstreams.is_empty() {
        let _ = writeln!(out, "\n{}", st.head("TOP UPSTREAMS (error log)"));
        for u in e.upstreams.iter().filter(|u| u.count > 0).take(TOP) {
            let kind = if u.group { " (group)" } else { "" };
            let dis = if u.disabled > 0 {
                format!(" · disabled {}×", n(u.disabled))
            } else {
                String::new()
            };
            let _ = writeln!(
                out,
                "  {:<34} {:>8}  {}{}",
                format!("{}{kind}", clean(&u.name)),
                n(u.count),
                breakdown(&u.by_cause, 3),
                dis
            );
        }
    }
    named_list(&mut out, "BY LOCATION (error log)", &e.locations, st);
    named_list(&mut out, "BY SERVER (error log)", &e.servers, st);
    access(&mut out, r, st);
    details(&mut out, r, st);
    notable(&mut out, r, st);
    if !r.warnings.is_empty() {
        let _ = writeln!(out, "\n{}", st.warn("WARNINGS"));
        for w in &r.warnings {
            let _ = writeln!(out, "  {}", clean(w));
        }
    }
    out
}

fn verdict(out: &mut String, r: &LogReport, st: &Style) {
    let e = &r.error_log;
    let _ = write!(out, "\n{}  ", st.head("VERDICT"));
    if r.inputs
        .iter()
        .all(|i| i.kind != badgateway_logs::report::InputKind::Error)
    {
        let _ = writeln!(out, "no error log given: causes come from the error log.");
    } else if r.upstream_errors == 0 {
        let _ = writeln!(out, "{}", st.good("no upstream errors in the error log."));
    } else {
        let _ = writeln!(
            out,
            "{} upstream error{} in the error log",
            st.bad(&n(r.upstream_errors)),
            if r.upstream_errors == 1 { "" } else { "s" }
        );
    }
    for c in e.causes.iter().take(TOP) {
        let via = if c.via_no_live > 0 {
            format!(" (incl. {} `no live upstreams`)", n(c.via_no_live))
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "  {:<22} {:>8} {:>6}  {:<38} {}{}",
            st.cause(c.cause.code()),
            n(c.count),
            share(c.share),
            c.cause.plain(),
            breakdown(&c.client_statuses, 3),
            via
        );
    }
    if e.causes.len() > TOP {
        let rest: u64 = e.causes[TOP..].iter().map(|c| c.count).sum();
        let _ = writeln!(
            out,
            "  … {} more causes ({})",
            e.causes.len() - TOP,
            n(rest)
        );
    }
    if let Some(a) = &r.access_log {
        let s = |k: &str| a.by_status.get(k).copied().unwrap_or(0);
        let _ = write!(
            out,
            "  access log: {} requests, {} 5xx (502: {}, 504: {}, 503: {}, 500: {})",
            n(a.requests),
            n(a.status_5xx),
            n(s("502")),
            n(s("504")),
            n(s("503")),
            n(s("500"))
        );
        if let Some(j) = &r.join {
            let _ = write!(
                out,
                "; {} of {} 502s and {} of {} 504s explained by error-log causes",
                n(j.explained_502),
                n(j.status_502),
                n(j.explained_504),
                n(j.status_504)
            );
        }
        out.push('\n');
        if a.backend_returned_error.count > 0 {
            let _ = writeln!(
                out,
                "  {:<22} {:>8}  5xx produced by the backend itself (nginx passed them through)",
                st.cause("backend-returned-error"),
                n(a.backend_returned_error.count)
            );
        }
        if a.cached_error.count > 0 {
            let _ = writeln!(
                out,
                "  {:<22} {:>8}  5xx served from nginx's cache",
                st.cause("cached-error"),
                n(a.cached_error.count)
            );
        }
    }
}

fn access(out: &mut String, r: &LogReport, st: &Style) {
    let Some(a) = &r.access_log else { return };
    let _ = writeln!(
        out,
        "\n{}  {} requests, {} 5xx, {} gateway errors (502/503/504 through an upstream), {} answered by nginx itself",
        st.head("ACCESS LOG"),
        n(a.requests),
        n(a.status_5xx),
        n(a.gateway_errors),
        n(a.local_5xx)
    );
    if a.unparsed > 0 {
        let _ = writeln!(
            out,
            "  {} lines did not match the format; first: {}",
            n(a.unparsed),
            clean(a.unparsed_sample.as_deref().unwrap_or(""))
        );
    }
    named_list(
        out,
        "5xx BY UPSTREAM (last address tried)",
        &a.by_upstream,
        st,
    );
    named_list(out, "5xx BY UPSTREAM NAME", &a.by_upstream_name, st);
    named_list(out, "5xx BY LOCATION", &a.by_location, st);
    named_list(out, "5xx BY HOST", &a.by_host, st);
    named_list(out, "5xx BY PATH", &a.by_path, st);
    let rt = &a.retries;
    if rt.multi_server + rt.internal_redirect > 0 {
        let _ = writeln!(
            out,
            "\n{}  {} requests tried several servers, {} were redirected internally; {} recovered after a failed attempt ({} on the same server: stale keepalive connections?)",
            st.head("RETRIES"),
            n(rt.multi_server),
            n(rt.internal_redirect),
            n(rt.recovered),
            n(rt.recovered_same_peer)
        );
        for c in rt.chains.iter().take(5) {
            let _ = writeln!(out, "  {:>8}  {}", n(c.count), clean(&c.chain));
        }
    }
    if let Some(j) = &r.join {
        let _ = writeln!(
            out,
            "\n{}  {} of {} access-log 5xx linked to an error-log cause ({} unexplained{})",
            st.head("JOIN"),
            n(j.explained),
            n(j.access_5xx),
            n(j.unexplained),
            if j.capped { "; index capped" } else { "" }
        );
        if !j.by_cause.is_empty() {
            let _ = writeln!(out, "  {}", breakdown(&j.by_cause, 8));
        }
        for c in j.chains.iter().take(5) {
            let _ = writeln!(out, "  {:>8}  {}", n(c.count), clean(&c.chain));
        }
        if let Some(s) = &j.unexplained_sample {
            let _ = writeln!(out, "  unexplained, e.g.: {}", clean(s));
        }
    }
}

fn details(out: &mut String, r: &LogReport, st: &Style) {
    let causes = &r.error_log.causes;
    if causes.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n{}", st.head("CAUSES"));
    for c in causes.iter().take(TOP) {
        let span = match (c.first, c.last) {
            (Some(a), Some(b)) => format!(" · {a} → {b}"),
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "\n── {} · {} ({}){}",
            st.cause(c.cause.code()),
            n(c.count),
            share(c.share),
            span
        );
        if !c.upstreams.is_empty() {
            let _ = writeln!(out, "   where:   {}", breakdown(&c.upstreams, 4));
        }
        if c.kinds.len() > 1 {
            let _ = writeln!(out, "   kinds:   {}", breakdown(&c.kinds, 4));
        }
        if let Some(s) = &c.sample {
            let _ = writeln!(out, "   example: {}", st.dim(&clean(&s.raw)));
        }
        let sample_kind = c
            .sample
            .as_ref()
            .and_then(|s| Kind::ALL.iter().copied().find(|k| k.as_str() == s.kind));
        let Some(kind) = sample_kind.or_else(|| main_kind(c)) else {
            continue;
        };
        let row = catalog::entry(kind);
        let _ = writeln!(out, "   what:    {}", row.explanation);
        for (i, l) in row.likely.iter().enumerate().take(3) {
            let label = if i == 0 { "likely:" } else { "" };
            let _ = writeln!(out, "   {label:<8} {}. {l}", i + 1);
        }
        for (i, l) in row.checks.iter().enumerate().take(3) {
            let label = if i == 0 { "check:" } else { "" };
            let _ = writeln!(out, "   {label:<8} • {l}");
        }
        let _ = writeln!(out, "   fix:     {}", row.fix);
        if !row.directives.is_empty() {
            let _ = writeln!(out, "   config:  {}", row.directives.join(", "));
        }
    }
    for g in &r.error_log.no_live {
        let how = if g.attributed.is_empty() {
            "no failures of its servers seen just before: servers marked down, or their errors are outside the log".to_owned()
        } else {
            format!(
                "attributed to {} (servers {})",
                breakdown(&g.attributed, 3),
                g.disabled_peers
                    .iter()
                    .map(|p| clean(p).into_owned())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        let _ = writeln!(
            out,
            "\n   `no live upstreams` for {}: {} — {}",
            clean(&g.group),
            n(g.count),
            how
        );
    }
}

fn notable(out: &mut String, r: &LogReport, st: &Style) {
    let e = &r.error_log;
    if e.notable.is_empty() && e.version_hints.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "\n{}",
        st.head("ALSO IN THE ERROR LOG (not upstream errors)")
    );
    for (k, ev) in &e.notable {
        let what = match k.as_str() {
            "config_error" => {
                "config load/reload errors: if a reload failed, nginx still runs the old config (stale-config)"
            }
            "peer_disabled" => "servers marked temporarily disabled (max_fails reached)",
            "fastcgi_stderr" => "FastCGI stderr relayed (application messages)",
            "client_abort_upstream" => {
                "clients gave up while waiting for the upstream (499): a slow backend?"
            }
            "rate_limited" => "requests rejected by limit_req/limit_conn (nginx's own 503)",
            "fd_exhaustion_other" => "nginx out of file descriptors while accepting",
            "upgraded_timeout" => "idle WebSocket connections closed by proxy_read_timeout",
            "worker_connections_reusing" => {
                "worker_connections ran short (idle connections reused)"
            }
            "upstream_buffered" => "responses buffered to disk",
            "resolver_io" => "errors talking to the DNS resolver",
            _ => "",
        };
        let _ = writeln!(out, "  {:<28} {:>8}  {what}", k, n(ev.count));
        if k == "config_error"
            && let Some(s) = &ev.sample
        {
            let _ = writeln!(
                out,
                "  {:<28} {:>8}  e.g. {}",
                "",
                "",
                st.dim(&clean(&s.raw))
            );
        }
    }
    for h in &e.version_hints {
        let _ = writeln!(out, "  nginx version hint: {h}");
    }
}

/// The markdown report (for tickets).
pub fn render_markdown(r: &LogReport) -> String {
    let mut out = String::new();
    let md = |s: &str| clean(s).replace('|', "\\|").replace('`', "'");
    let _ = writeln!(out, "## badgateway logs\n");
    let _ = write!(out, "{} lines from {} input(s)", n(r.lines), r.inputs.len());
    if let (Some(a), Some(b)) = (r.first, r.last) {
        let _ = write!(out, ", {a} → {b}");
    }
    let _ = writeln!(out, ". **{} upstream errors.**\n", n(r.upstream_errors));
    if !r.error_log.causes.is_empty() {
        let _ = writeln!(
            out,
            "| cause | count | share | clients got | meaning |\n|---|---:|---:|---|---|"
        );
        for c in &r.error_log.causes {
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} | {} |",
                c.cause.code(),
                n(c.count),
                share(c.share),
                md(&breakdown(&c.client_statuses, 3)),
                c.cause.plain()
            );
        }
        out.push('\n');
    }
    if !r.error_log.upstreams.is_empty() {
        let _ = writeln!(out, "| upstream | errors | causes |\n|---|---:|---|");
        for u in r
            .error_log
            .upstreams
            .iter()
            .filter(|u| u.count > 0)
            .take(TOP)
        {
            let _ = writeln!(
                out,
                "| `{}` | {} | {} |",
                md(&u.name),
                n(u.count),
                md(&breakdown(&u.by_cause, 3))
            );
        }
        out.push('\n');
    }
    if let Some(a) = &r.access_log {
        let _ = writeln!(
            out,
            "Access log: {} requests, {} 5xx ({} gateway errors through an upstream).",
            n(a.requests),
            n(a.status_5xx),
            n(a.gateway_errors)
        );
        if let Some(j) = &r.join {
            let _ = writeln!(
                out,
                " {} of {} 502s and {} of {} 504s explained by error-log causes.",
                n(j.explained_502),
                n(j.status_502),
                n(j.explained_504),
                n(j.status_504)
            );
        }
        out.push('\n');
    }
    for c in r.error_log.causes.iter().take(TOP) {
        let _ = writeln!(
            out,
            "### `{}` — {} ({})\n",
            c.cause.code(),
            n(c.count),
            share(c.share)
        );
        if let Some(s) = &c.sample {
            let _ = writeln!(out, "```\n{}\n```\n", clean(&s.raw).replace("```", "'''"));
        }
        if let Some(kind) = main_kind(c) {
            let row = catalog::entry(kind);
            let _ = writeln!(out, "{}\n", row.explanation);
            let _ = writeln!(out, "**Check:**\n");
            for l in row.checks {
                let _ = writeln!(out, "- `{}`", l.replace('`', "'"));
            }
            let _ = writeln!(out, "\n**Fix:** {}\n", row.fix);
        }
    }
    if !r.warnings.is_empty() {
        let _ = writeln!(out, "**Warnings:**\n");
        for w in &r.warnings {
            let _ = writeln!(out, "- {}", md(w));
        }
    }
    out
}

// Styling helpers for the log report, on the shared `Style`.

/// The extra looks the log and explain renderers use.
pub trait LogStyle {
    /// A section heading.
    fn head(&self, s: &str) -> String;
    /// A cause code, padded to a column first.
    fn cause(&self, s: &str) -> String;
    /// Bad news.
    fn bad(&self, s: &str) -> String;
    /// Good news.
    fn good(&self, s: &str) -> String;
    /// A warning heading.
    fn warn(&self, s: &str) -> String;
}

impl LogStyle for Style {
    fn head(&self, s: &str) -> String {
        self.paint("1", s)
    }

    fn cause(&self, s: &str) -> String {
        self.paint("1;33", &format!("{s:<22}"))
    }

    fn bad(&self, s: &str) -> String {
        self.paint("1;31", s)
    }

    fn good(&self, s: &str) -> String {
        self.paint("32", s)
    }

    fn warn(&self, s: &str) -> String {
        self.paint("1;35", s)
    }
}

/// `1234567` → `1,234,567`.
pub fn n(x: u64) -> String {
    let s = x.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod style_tests {
    #[test]
    fn thousands() {
        assert_eq!(super::n(0), "0");
        assert_eq!(super::n(999), "999");
        assert_eq!(super::n(1000), "1,000");
        assert_eq!(super::n(1234567), "1,234,567");
    }
}
