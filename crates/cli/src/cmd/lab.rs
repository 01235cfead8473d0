//! `badgateway lab [SCENARIO]`: list the failure scenarios, or reproduce
//! one — a private nginx (temporary prefix, ephemeral loopback ports, never
//! the system's nginx) and the faulty backends behind it — send its
//! traffic, diagnose that nginx live, and stop everything it started.
//! Also the hidden `lab-backend` subcommand that runs one backend.

use std::io::Write;
use std::time::Duration;

use badgateway_lab::scenario::{self, Scenario};
use badgateway_report::{Format, Style};

use super::diagnose::gather;
use crate::args::{Common, LabArgs, LabBackendArgs};
use crate::exit::{CmdResult, Failure, Outcome};

/// Run `badgateway lab`.
pub fn run(args: &LabArgs, common: &Common) -> CmdResult {
    let Some(name) = &args.scenario else {
        return list(common);
    };
    let text = scenario::all()
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, t)| *t)
        .ok_or_else(|| {
            Failure::Input(format!("no scenario {name:?}; `badgateway lab` lists them"))
        })?;
    let s = Scenario::parse(text).map_err(|e| Failure::Input(format!("scenario {name}: {e}")))?;
    let nginx = badgateway_lab::find_nginx()
        .ok_or_else(|| Failure::Input("the lab needs nginx (Debian's `nginx` package)".into()))?;
    let exe = std::env::current_exe()
        .map_err(|e| Failure::Input(format!("cannot find my own binary: {e}")))?;
    let php = badgateway_lab::find_php_fpm();
    let running = scenario::run(&s, &nginx, &exe, php.as_deref())
        .map_err(|e| Failure::Input(format!("scenario {name}: {e}")))?;

    let opts = gather::Options {
        config: Some(running.nginx.conf_path.clone()),
        prefix: Some(running.nginx.prefix().to_path_buf()),
        since: None,
        probe: !common.no_probe,
        host: true,
        nginx_test: false,
        probe_timeout: Duration::from_millis(1500),
        nginx_version: None,
        logs: Vec::new(),
    };
    let g = gather::gather(&opts)?;
    let diagnosis = badgateway_engine::diagnose(&g.evidence);
    let expected_upstream = s.expect.upstream.as_deref().map(|u| running.subst(u));
    let out = match common.format {
        Format::Json => {
            let mut v: serde_json::Value =
                serde_json::from_str(&badgateway_report::diagnose::json(&diagnosis, &g.context))
                    .map_err(|e| Failure::Input(e.to_string()))?;
            v["lab"] = serde_json::json!({
                "scenario": name,
                "summary": s.summary,
                "statuses": running.statuses,
                "expect": {"cause": s.expect.cause, "upstream": expected_upstream},
            });
            serde_json::to_string_pretty(&v).unwrap_or_default() + "\n"
        }
        Format::Markdown => badgateway_report::diagnose::markdown(&diagnosis, &g.context),
        Format::Text | Format::Sarif => {
            let style = Style::for_stdout(common.no_color);
            let mut t = String::new();
            t.push_str(&style.bold(&format!("lab: {name} — {}\n", s.summary)));
            t.push_str(&format!(
                "sent {} requests through a private nginx on 127.0.0.1:{}; statuses: {}\n\n",
                running.statuses.len(),
                running.nginx.port,
                summarize(&running.statuses)
            ));
            t.push_str(&badgateway_report::diagnose::text(
                &diagnosis, &g.context, style,
            ));
            let top = diagnosis.findings.first().map(|f| f.cause.code());
            t.push_str(&format!(
                "expected: {}{} — {}\n",
                s.expect.cause,
                expected_upstream
                    .as_deref()
                    .map(|u| format!(" at {u}"))
                    .unwrap_or_default(),
                if top == Some(s.expect.cause.as_str()) {
                    "found"
                } else {
                    "NOT the top finding"
                }
            ));
            t
        }
    };
    drop(running);
    Ok(super::diagnose::print(&out, &diagnosis))
}

fn list(common: &Common) -> CmdResult {
    let mut rows = Vec::new();
    for (name, text) in scenario::all() {
        let s =
            Scenario::parse(text).map_err(|e| Failure::Input(format!("scenario {name}: {e}")))?;
        rows.push((name.to_string(), s.expect.cause.clone(), s.summary.clone()));
    }
    let out = match common.format {
        Format::Json => {
            let v: Vec<_> = rows
                .iter()
                .map(|(n, c, s)| serde_json::json!({"name": n, "cause": c, "summary": s}))
                .collect();
            serde_json::to_string_pretty(&v).unwrap_or_default() + "\n"
        }
        _ => {
            let width = rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
            let mut t = String::from("Scenarios (run one with `badgateway lab NAME`):\n");
            for (n, c, s) in &rows {
                t.push_str(&format!("  {n:width$}  {c:<24} {s}\n"));
            }
            t
        }
    };
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(out.as_bytes());
    Ok(Outcome::Clean)
}

fn summarize(statuses: &[u16]) -> String {
    let mut counts: Vec<(u16, usize)> = Vec::new();
    for &s in statuses {
        match counts.iter_mut().find(|(c, _)| *c == s) {
            Some((_, n)) => *n += 1,
            None => counts.push((s, 1)),
        }
    }
    counts
        .iter()
        .map(|(s, n)| {
            if *s == 0 {
                format!("{n}× no response")
            } else {
                format!("{n}× {s}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Run the fault-injecting backend until killed.
pub fn run_backend(args: &LabBackendArgs) -> CmdResult {
    let listen: badgateway_lab::Listen = args.listen.parse().map_err(Failure::Input)?;
    let fault: badgateway_lab::Fault = args.fault.parse().map_err(Failure::Input)?;
    badgateway_lab::Backend::run(&listen, fault)
        .map_err(|e| Failure::Input(format!("lab-backend {}: {e}", args.listen)))?;
    Ok(Outcome::Clean)
}
