//! PHP-FPM's own error log: the lines that explain 502s and 504s on the
//! nginx side (`server reached pm.max_children setting`, `execution timed
//! out`, children killed by signals, failed binds). Tolerant: lines it does
//! not know are skipped.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::time::LocalDateTime;

/// What a log line reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum FpmEventKind {
    /// `server reached pm.max_children setting (N), consider raising it`:
    /// requests queue on the listen socket until it overflows (11:
    /// Resource temporarily unavailable at nginx) or nginx times out.
    MaxChildrenReached {
        /// The limit in force.
        limit: Option<u64>,
    },
    /// `seems busy (you may need to increase pm.start_servers …)`.
    SeemsBusy {
        /// Idle children at that moment.
        idle: Option<u64>,
        /// Children in all.
        total: Option<u64>,
    },
    /// `child N, script 'X' (request: "…") execution timed out (S sec),
    /// terminating` (`request_terminate_timeout`): nginx sees the
    /// connection closed, a 502.
    ExecutionTimedOut {
        /// The worker's pid.
        child: Option<u32>,
        /// The script.
        script: Option<String>,
        /// How long it had run.
        seconds: Option<f64>,
    },
    /// `child N exited on signal S (SIGx) after T seconds from start`: a
    /// crash (SIGSEGV) or a kill (SIGKILL, often the OOM killer).
    ChildSignaled {
        /// The worker's pid.
        child: Option<u32>,
        /// The signal number.
        signal: Option<u32>,
        /// The name in parentheses (`SIGSEGV - core dumped`).
        name: Option<String>,
    },
    /// `unable to bind listening socket for address 'X': …`: the pool never
    /// listened.
    BindFailed {
        /// The address or path.
        address: Option<String>,
        /// The OS error text.
        error: String,
    },
    /// `ready to handle connections` (a start or reload finished).
    Ready,
    /// `exiting, bye-bye!`.
    Exiting,
}

/// One recognised line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FpmEvent {
    /// 1-based line in the text read.
    pub line: usize,
    /// When (local time, as written).
    pub time: Option<LocalDateTime>,
    /// `WARNING`, `NOTICE`, `ERROR`, `ALERT`.
    pub level: String,
    /// `[pool NAME]`, when the line names one.
    pub pool: Option<String>,
    /// What happened.
    pub event: FpmEventKind,
}

/// Parse PHP-FPM log text into the events this crate cares about.
pub fn parse_fpm_log(text: &str) -> Vec<FpmEvent> {
    text.lines()
        .enumerate()
        .filter_map(|(i, l)| {
            parse_line(l).map(|(time, level, pool, event)| FpmEvent {
                line: i + 1,
                time,
                level,
                pool,
                event,
            })
        })
        .collect()
}

type Parsed = (Option<LocalDateTime>, String, Option<String>, FpmEventKind);

fn parse_line(line: &str) -> Option<Parsed> {
    let (time, rest) = match line.strip_prefix('[').and_then(|r| r.split_once("] ")) {
        Some((t, r)) => (LocalDateTime::parse_fpm(t), r),
        None => (None, line),
    };
    let (level, msg) = rest.split_once(": ")?;
    if level.is_empty() || !level.bytes().all(|b| b.is_ascii_uppercase()) {
        return None;
    }
    let (pool, msg) = match msg.strip_prefix("[pool ").and_then(|r| r.split_once("] ")) {
        Some((p, m)) => (Some(p.to_string()), m),
        None => (None, msg),
    };
    // `pm = dynamic` says "pm.max_children", `pm = ondemand` "max_children".
    let event = if msg.starts_with("server reached") && msg.contains("max_children setting") {
        FpmEventKind::MaxChildrenReached {
            limit: between(msg, "(", ")").and_then(|n| n.parse().ok()),
        }
    } else if msg.starts_with("seems busy") {
        FpmEventKind::SeemsBusy {
            idle: between(msg, "there are ", " idle").and_then(|n| n.parse().ok()),
            total: between(msg, "and ", " total").and_then(|n| n.parse().ok()),
        }
    } else if msg.contains("execution timed out") {
        FpmEventKind::ExecutionTimedOut {
            child: between(msg, "child ", ",").and_then(|n| n.parse().ok()),
            script: between(msg, "script '", "'").map(str::to_string),
            seconds: msg
                .rsplit_once("execution timed out (")
                .and_then(|(_, r)| r.split_once(" sec"))
                .and_then(|(n, _)| n.parse().ok()),
        }
    } else if msg.starts_with("child ") && msg.contains(" exited on signal ") {
        FpmEventKind::ChildSignaled {
            child: between(msg, "child ", " ").and_then(|n| n.parse().ok()),
            signal: between(msg, "on signal ", " ").and_then(|n| n.parse().ok()),
            name: between(msg, "(", ")").map(str::to_string),
        }
    } else if let Some(r) = msg.strip_prefix("unable to bind listening socket for address ") {
        let (address, error) = match r.strip_prefix('\'').and_then(|r| r.split_once("': ")) {
            Some((a, e)) => (Some(a.to_string()), e.to_string()),
            None => (None, r.to_string()),
        };
        FpmEventKind::BindFailed { address, error }
    } else if msg.starts_with("ready to handle connections") {
        FpmEventKind::Ready
    } else if msg.starts_with("exiting, bye-bye") {
        FpmEventKind::Exiting
    } else {
        return None;
    };
    Some((time, level.to_string(), pool, event))
}

fn between<'a>(s: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let (_, r) = s.split_once(open)?;
    r.split_once(close).map(|(m, _)| m)
}

/// Counts per pool over a log.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PoolLogStats {
    /// `server reached pm.max_children setting` warnings.
    pub max_children_reached: u64,
    /// The last of them.
    pub last_max_children: Option<LocalDateTime>,
    /// `execution timed out` kills.
    pub timeouts: u64,
    /// Children ended by a signal.
    pub signaled: u64,
    /// `seems busy` warnings.
    pub busy: u64,
}

/// What the log says, summarised.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FpmLogSummary {
    /// Per pool (events without a pool are under `""`).
    pub pools: BTreeMap<String, PoolLogStats>,
    /// The last 100 events, oldest first.
    pub recent: Vec<FpmEvent>,
    /// When the master last became ready (a start or reload).
    pub last_ready: Option<LocalDateTime>,
}

/// Summarise parsed events.
pub fn summarize_fpm_log(events: &[FpmEvent]) -> FpmLogSummary {
    let mut s = FpmLogSummary::default();
    for e in events {
        let p = s
            .pools
            .entry(e.pool.clone().unwrap_or_default())
            .or_default();
        match &e.event {
            FpmEventKind::MaxChildrenReached { .. } => {
                p.max_children_reached += 1;
                p.last_max_children = e.time.or(p.last_max_children);
            }
            FpmEventKind::ExecutionTimedOut { .. } => p.timeouts += 1,
            FpmEventKind::ChildSignaled { .. } => p.signaled += 1,
            FpmEventKind::SeemsBusy { .. } => p.busy += 1,
            FpmEventKind::Ready => s.last_ready = e.time.or(s.last_ready),
            FpmEventKind::BindFailed { .. } | FpmEventKind::Exiting => {}
        }
    }
    s.pools.retain(|_, p| *p != PoolLogStats::default());
    s.recent = events[events.len().saturating_sub(100)..].to_vec();
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_lines() {
        let t = "[21-Nov-2026 15:30:36] NOTICE: fpm is running, pid 14524\n\
[21-Nov-2026 15:30:36] NOTICE: ready to handle connections\n\
[21-Nov-2026 15:31:02] WARNING: [pool www] server reached pm.max_children setting (5), consider raising it\n\
[21-Nov-2026 15:31:40] WARNING: [pool www] child 2177, script '/var/www/html/slow.php' (request: \"GET /slow.php\") execution timed out (30.012 sec), terminating\n\
[21-Nov-2026 15:31:40] WARNING: [pool www] child 2177 exited on signal 9 (SIGKILL) after 31.2 seconds from start\n\
[21-Nov-2026 15:32:00] WARNING: [pool www] seems busy (you may need to increase pm.start_servers, or pm.min/max_spare_servers), spawning 8 children, there are 0 idle, and 9 total children\n\
[21-Nov-2026 15:32:30] WARNING: [pool api] server reached max_children setting (8), consider raising it\n\
[21-Nov-2026 15:33:00] ERROR: unable to bind listening socket for address '/run/php/php8.2-fpm.sock': Address already in use (98)\n\
garbage \x1b[31m\n";
        let ev = parse_fpm_log(t);
        assert_eq!(ev.len(), 7);
        assert_eq!(
            ev[1].event,
            FpmEventKind::MaxChildrenReached { limit: Some(5) }
        );
        assert_eq!(ev[1].pool.as_deref(), Some("www"));
        assert_eq!(ev[1].line, 3);
        assert_eq!(
            ev[2].event,
            FpmEventKind::ExecutionTimedOut {
                child: Some(2177),
                script: Some("/var/www/html/slow.php".into()),
                seconds: Some(30.012)
            }
        );
        assert_eq!(
            ev[3].event,
            FpmEventKind::ChildSignaled {
                child: Some(2177),
                signal: Some(9),
                name: Some("SIGKILL".into())
            }
        );
        assert_eq!(
            ev[4].event,
            FpmEventKind::SeemsBusy {
                idle: Some(0),
                total: Some(9)
            }
        );
        assert_eq!(
            ev[5].event,
            FpmEventKind::MaxChildrenReached { limit: Some(8) }
        );
        assert!(
            matches!(&ev[6].event, FpmEventKind::BindFailed { address: Some(a), .. } if a == "/run/php/php8.2-fpm.sock")
        );
        let s = summarize_fpm_log(&ev);
        assert_eq!(s.pools["www"].max_children_reached, 1);
        assert_eq!(s.pools["www"].timeouts, 1);
        assert_eq!(s.last_ready.unwrap().to_string(), "2026-11-21 15:30:36");
        assert!(!s.pools.contains_key(""));
    }
}
