//! `badgateway diagnose`: gather the evidence about this host's nginx
//! ([`gather`]: config, upstream inventory, lints, logs, probes, host facts),
//! let the engine rank the root causes, and render them. Exit status (SPEC):
//! 1 when upstream failures were seen in the window or now, or a finding is
//! critical; 0 otherwise; 2 when there is nothing to diagnose (no readable
//! config).

pub mod gather;
pub mod host;
pub mod inventory;
pub mod logs;
pub mod probes;

use std::io::Write;
use std::time::Duration;

use badgateway_report::{Format, Style};

use crate::args::{Common, DiagnoseArgs};
use crate::exit::{CmdResult, Failure, Outcome};

/// Run `badgateway diagnose`.
pub fn run(args: &DiagnoseArgs, common: &Common) -> CmdResult {
    let nginx_version = match &args.nginx_version {
        Some(v) => Some(
            v.parse()
                .map_err(|e| Failure::Input(format!("--nginx-version: {e}")))?,
        ),
        None => None,
    };
    let opts = gather::Options {
        config: common.config.clone(),
        prefix: common.prefix.clone(),
        since: common.since.clone(),
        probe: !common.no_probe && !args.offline,
        host: !args.offline,
        nginx_test: args.nginx_test,
        probe_timeout: Duration::from_secs_f64(args.timeout.clamp(0.05, 60.0)),
        nginx_version,
        logs: args.logs.clone(),
    };
    let g = gather::gather(&opts)?;
    let diagnosis = badgateway_engine::diagnose(&g.evidence);
    let out = match common.format {
        Format::Json => badgateway_report::diagnose::json(&diagnosis, &g.context),
        Format::Markdown => badgateway_report::diagnose::markdown(&diagnosis, &g.context),
        Format::Text => badgateway_report::diagnose::text(
            &diagnosis,
            &g.context,
            Style::for_stdout(common.no_color),
        ),
        Format::Sarif => return Err(Failure::Input("--format sarif is only for `config`".into())),
    };
    Ok(print(&out, &diagnosis))
}

/// Write a rendered diagnosis to stdout; the outcome follows from its
/// findings (problems found or not).
pub(crate) fn print(out: &str, diagnosis: &badgateway_engine::Diagnosis) -> Outcome {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout
        .write_all(out.as_bytes())
        .and_then(|()| stdout.flush());
    if diagnosis.has_problems() {
        Outcome::Problems
    } else {
        Outcome::Clean
    }
}
