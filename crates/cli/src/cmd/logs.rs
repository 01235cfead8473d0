//! `badgateway logs`: offline analysis of error and access logs.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use badgateway_logs::time::parse_when;
use badgateway_logs::{Input, LocalTime, Options, Progress, analyze};
use badgateway_report::logs::{render_markdown, render_text};
use badgateway_report::{Format, Style, neutralize_str};

use crate::args::{Common, LogsArgs};
use crate::exit::{CmdResult, Failure, Outcome};

/// Run `badgateway logs`.
pub fn run(args: &LogsArgs, common: &Common) -> CmdResult {
    if common.format == Format::Sarif {
        return Err(Failure::Input(
            "--format sarif is only for `badgateway config`; use text, json or markdown".into(),
        ));
    }
    let now = LocalTime::now();
    let when = |flag: &str, v: &Option<String>| {
        v.as_deref()
            .map(|s| parse_when(s, now))
            .transpose()
            .map_err(|e| Failure::Input(format!("{flag}: {e}")))
    };
    let since = when("--since", &common.since)?;
    let until = when("--until", &args.until)?;
    let inputs: Vec<Input> = args.files.iter().map(|f| Input::from_arg(f)).collect();
    let mut groups = Vec::new();
    for g in &args.upstream_groups {
        let Some((name, peers)) = g.split_once('=') else {
            return Err(Failure::Input(format!(
                "--upstream-group {g:?}: expected NAME=ADDR[,ADDR…], e.g. backend=10.0.0.1:80,10.0.0.2:80"
            )));
        };
        let peers: Vec<String> = peers
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect();
        groups.push((name.trim().to_owned(), peers));
    }
    let show_progress = !common.quiet && std::io::stderr().is_terminal();
    let drawn = Mutex::new((Instant::now(), false));
    let progress = |p: &Progress| {
        let Ok(mut d) = drawn.lock() else { return };
        if d.0.elapsed() < Duration::from_millis(200) {
            return;
        }
        d.0 = Instant::now();
        d.1 = true;
        let name = neutralize_str(&p.input).into_owned();
        let mb = |b: u64| b as f64 / (1024.0 * 1024.0);
        let line = match p.total {
            Some(t) if t > 0 => format!(
                "reading {name}: {:.0}% ({:.0} of {:.0} MiB)",
                p.done as f64 * 100.0 / t as f64,
                mb(p.done),
                mb(t)
            ),
            _ => format!("reading {name}: {:.0} MiB", mb(p.done)),
        };
        let mut e = std::io::stderr();
        let _ = write!(e, "\r\x1b[2K{line}");
        let _ = e.flush();
    };
    let opts = Options {
        since,
        until,
        log_format: args.log_format.clone(),
        threads: args.threads,
        fail_window_secs: args.fail_timeout,
        upstream_groups: groups,
        top: args.top,
        progress: show_progress.then_some(&progress as &(dyn Fn(&Progress) + Sync)),
        ..Options::default()
    };
    let result = analyze(&inputs, &opts);
    if drawn.lock().is_ok_and(|d| d.1) {
        eprint!("\r\x1b[2K");
    }
    let report = result.map_err(|e| Failure::Input(e.to_string()))?;
    if !common.quiet {
        for w in &report.warnings {
            eprintln!("badgateway: warning: {}", neutralize_str(w));
        }
    }
    let style = Style::for_stdout(common.no_color);
    let out = match common.format {
        Format::Json => {
            serde_json::to_string_pretty(&report).map_err(|e| Failure::Input(e.to_string()))? + "\n"
        }
        Format::Markdown => render_markdown(&report),
        _ => render_text(&report, &style),
    };
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(out.as_bytes());
    Ok(if report.has_upstream_failures() {
        Outcome::Problems
    } else {
        Outcome::Clean
    })
}
