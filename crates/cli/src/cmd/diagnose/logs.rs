//! Log evidence for the diagnosis: the error and access logs the config
//! names (or those given with `--log`), read for the window, turned into
//! the engine's per-upstream, per-cause groups.
//!
//! The window is `--since` when given; otherwise the hour before the
//! newest entry in the logs (an operator asks about *now*, and a log that
//! was never rotated must not drown today's failure in last month's). The
//! rotated sibling `NAME.1` is read too when it exists, so a rotation just
//! before the incident does not hide it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use badgateway_cause::Cause;
use badgateway_conf::Model;
use badgateway_engine::evidence::{AccessEvidence, BackendError, LogEvidence, LogGroup, Upstream};
use badgateway_logs::catalog::{ClientStatus, Kind};
use badgateway_logs::report::{BackendErrors, LogReport};
use badgateway_logs::time::parse_when;
use badgateway_logs::{Input, LocalTime, Options, analyze, last_entry_time};

/// The default window: this long before the newest log entry.
const DEFAULT_WINDOW_SECS: i64 = 3600;
/// How far in the future a log time may be (clock skew between hosts).
const CLOCK_SKEW_SECS: i64 = 300;

/// What reading the logs gave.
#[derive(Debug, Default)]
pub struct LogRead {
    /// For the engine.
    pub evidence: LogEvidence,
    /// First and last entry of the window.
    pub window: Option<(String, String)>,
    /// Access-log requests and 5xx among them.
    pub requests: Option<(u64, u64)>,
    /// What could not be read, and why.
    pub notes: Vec<String>,
}

/// Read the logs the config names (or `given`) for the window.
pub fn read(
    model: &Model,
    upstreams: &[Upstream],
    given: &[PathBuf],
    since: Option<&str>,
) -> LogRead {
    let mut out = LogRead::default();
    let paths = if given.is_empty() {
        configured_logs(model, &mut out.notes)
    } else {
        given.to_vec()
    };
    let paths = with_rotated(paths);
    if paths.is_empty() {
        out.notes
            .push("logs were not read (the config names no log file this tool can read)".into());
        return out;
    }
    let since = match since {
        Some(s) => match parse_when(s, LocalTime::now()) {
            Ok(t) => Some(t),
            Err(e) => {
                out.notes.push(format!("--since {s:?} ignored: {e}"));
                None
            }
        },
        // Times past the clock (a forged line, a skewed host) are passed
        // over: they cannot move the window away from the real entries.
        None => {
            let not_after = LocalTime(LocalTime::now().0 + CLOCK_SKEW_SECS);
            paths
                .iter()
                .filter_map(|p| last_entry_time(p, not_after))
                .max()
                .map(|t| LocalTime(t.0 - DEFAULT_WINDOW_SECS))
        }
    };
    let inputs: Vec<Input> = paths.iter().map(|p| Input::Path(p.clone())).collect();
    let opts = Options {
        since,
        log_formats: model
            .log_formats()
            .into_iter()
            .map(|f| {
                let text = if f.escape == "default" {
                    f.format
                } else {
                    format!("escape={} {}", f.escape, f.format)
                };
                (f.name, text)
            })
            .collect(),
        upstream_groups: upstreams
            .iter()
            .filter(|u| u.explicit)
            .map(|u| {
                let peers = u.peers.iter().map(|p| p.address.clone()).collect();
                (u.name.clone(), peers)
            })
            .collect(),
        top: 1000,
        ..Options::default()
    };
    let report = match analyze(&inputs, &opts) {
        Ok(r) => r,
        Err(e) => {
            out.notes.push(format!("logs were not read: {e}"));
            return out;
        }
    };
    out.notes.extend(report.warnings.iter().cloned());
    out.evidence = evidence(&report, &paths);
    out.window = out.evidence.window.clone();
    out.requests = report
        .access_log
        .as_ref()
        .map(|a| (a.requests, a.status_5xx));
    out
}

/// The error and access log files the config writes to, resolved like
/// nginx does; targets that are not files (`syslog:`, `stderr`, `memory:`,
/// `off`, paths with variables) are noted and skipped.
fn configured_logs(model: &Model, notes: &mut Vec<String>) -> Vec<PathBuf> {
    let mut targets: Vec<String> = model.error_logs().into_iter().map(|l| l.target).collect();
    if targets.is_empty() {
        targets.push(default_log(model, "error.log"));
    }
    let access = model.access_logs();
    if access.is_empty() {
        targets.push(default_log(model, "access.log"));
    }
    targets.extend(access.into_iter().map(|l| l.target));
    let mut paths: Vec<PathBuf> = Vec::new();
    for t in targets {
        if t == "off" || t == "stderr" || t == "/dev/null" {
            continue;
        }
        if t.starts_with("syslog:") || t.starts_with("memory:") {
            notes.push(format!("log target {t} is not a file; not read"));
            continue;
        }
        if t.contains('$') {
            notes.push(format!(
                "log path {t} contains variables; not read (give the files with --log)"
            ));
            continue;
        }
        let p = model.resolve_path(&t);
        if !paths.contains(&p) {
            paths.push(p);
        }
    }
    paths
}

/// nginx's compiled-in default log (`logs/NAME` under the prefix; the
/// packaged builds use `/var/log/nginx/NAME`), whichever exists.
fn default_log(model: &Model, name: &str) -> String {
    let packaged = format!("/var/log/nginx/{name}");
    let under_prefix = model.resolve_path(&format!("logs/{name}"));
    if !under_prefix.exists() && Path::new(&packaged).exists() {
        packaged
    } else {
        under_prefix.display().to_string()
    }
}

/// Each file plus its most recent rotation (`NAME.1`, plain) when present.
fn with_rotated(paths: Vec<PathBuf>) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for p in paths {
        let mut rotated = p.clone().into_os_string();
        rotated.push(".1");
        let rotated = PathBuf::from(rotated);
        if rotated.is_file() && !out.contains(&rotated) {
            out.push(rotated);
        }
        if !out.contains(&p) {
            out.push(p);
        }
    }
    out
}

/// The engine's view of a log report.
fn evidence(r: &LogReport, files: &[PathBuf]) -> LogEvidence {
    let access = r.access_log.as_ref();
    // Final 5xx per last upstream tried (when the format logs it): shared
    // among the causes of that upstream's errors.
    let final_5xx: BTreeMap<&str, u64> = access
        .map(|a| {
            a.by_upstream
                .iter()
                .filter(|n| n.name != "-")
                .map(|n| (n.name.as_str(), n.count))
                .collect()
        })
        .unwrap_or_default();
    let upstream_logged = !final_5xx.is_empty()
        || access.is_some_and(|a| !a.failed_attempts.is_empty() || a.retries.multi_server > 0);
    let groups = r
        .error_log
        .groups
        .iter()
        .map(|g| {
            let entry = badgateway_logs::error::parse_line(g.sample.as_bytes());
            let class = badgateway_logs::catalog::classify(&entry);
            let schema = entry
                .ctx
                .upstream_field()
                .filter(|u| !u.scheme.is_empty())
                .map(|u| format!("{}://", String::from_utf8_lossy(u.scheme)));
            let status = match class.status {
                ClientStatus::Status(s) => Some(s),
                _ => None,
            };
            let share = |n: u64, of: u64| (n as f64 * g.count as f64 / of.max(1) as f64).round();
            // Final 5xx whose last attempt went to this upstream, shared
            // among its causes; else (format without `$upstream_addr`, or
            // nginx answered without reaching a peer) the join's count for
            // the cause, shared among its groups.
            let by_join = || {
                r.join.as_ref().map(|j| {
                    let explained = j.by_cause.get(g.cause.code()).copied().unwrap_or(0);
                    let total = r.cause_count(g.cause);
                    (share(explained, total) as u64).min(g.count)
                })
            };
            let failed_requests = match final_5xx.get(g.upstream.as_str()) {
                Some(&fin) => {
                    let at = r.by_upstream.get(&g.upstream).copied().unwrap_or(0);
                    Some((share(fin, at) as u64).min(g.count))
                }
                None => by_join().or(upstream_logged.then_some(0)),
            };
            LogGroup {
                cause: g.cause,
                kind: g.kind.clone(),
                errno: entry.errno.map(|e| e.code as i32),
                upstream: Some(g.upstream.clone()).filter(|u| u != "-"),
                schema,
                status,
                count: g.count,
                failed_requests,
                first: g.first.map(|t| t.to_string()).unwrap_or_default(),
                last: g.last.map(|t| t.to_string()).unwrap_or_default(),
                sample: g.sample.clone(),
            }
        })
        .collect();
    // descriptors exhausted while accepting clients: the same limit that
    // breaks upstream connections, logged without a request
    let limits = r
        .error_log
        .notable
        .get(Kind::FdExhaustionOther.as_str())
        .map(|ev| LogGroup {
            cause: Cause::FdExhaustion,
            kind: Kind::FdExhaustionOther.as_str().to_owned(),
            errno: None,
            upstream: None,
            schema: None,
            status: None,
            count: ev.count,
            failed_requests: Some(0),
            first: ev.first.map(|t| t.to_string()).unwrap_or_default(),
            last: ev.last.map(|t| t.to_string()).unwrap_or_default(),
            sample: ev
                .sample
                .as_ref()
                .map(|s| s.raw.clone())
                .unwrap_or_default(),
        })
        .into_iter()
        .collect();
    LogEvidence {
        limits,
        files: files.iter().map(|p| p.display().to_string()).collect(),
        window: match (r.first, r.last) {
            (Some(a), Some(b)) => Some((a.to_string(), b.to_string())),
            _ => None,
        },
        groups,
        access: access.map(|a| AccessEvidence {
            requests: a.requests,
            status_5xx: [500u16, 502, 503, 504]
                .iter()
                .filter_map(|s| {
                    let n = a.by_status.get(&s.to_string()).copied().unwrap_or(0);
                    (n > 0).then_some((*s, n))
                })
                .collect(),
            backend_errors: per_upstream(&a.backend_returned_error),
            cached_errors: per_upstream(&a.cached_error),
            reused_retries: a
                .retries
                .same_peer_by_upstream
                .iter()
                .map(|(k, v)| (k.clone(), *v))
                .collect(),
        }),
    }
}

/// Backend-produced 5xx per upstream, with the most common status.
fn per_upstream(b: &BackendErrors) -> Vec<BackendError> {
    let status = b
        .by_status
        .iter()
        .max_by_key(|(_, n)| **n)
        .and_then(|(s, _)| s.parse().ok())
        .unwrap_or(500);
    let mut v: Vec<BackendError> = b
        .by_upstream
        .iter()
        .map(|(u, n)| BackendError {
            upstream: u.clone(),
            status,
            count: *n,
            sample: b.sample.clone().unwrap_or_default(),
        })
        .collect();
    v.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then_with(|| a.upstream.cmp(&b.upstream))
    });
    v
}
