//! `badgateway probe TARGET`: probe one upstream the way nginx's worker sees
//! it and print the verdict first. Exit 0 when the target answers in the
//! protocol nginx would speak, 1 when it does not, 2 for usage errors.

use std::io::Write;
use std::time::Duration;

use badgateway_probe::{ProbeOptions, Target, WorkerIdentity, probe_one};
use badgateway_report::Format;

use crate::args::{Common, ProbeArgs};
use crate::exit::{CmdResult, Failure, Outcome};

/// Run `badgateway probe`.
pub fn run(args: &ProbeArgs, common: &Common) -> CmdResult {
    if common.no_probe {
        return Err(Failure::Input(
            "--no-probe forbids network traffic, and `probe` is nothing but a probe".into(),
        ));
    }
    if common.format == Format::Sarif {
        return Err(Failure::Input(
            "probe prints text, json or markdown (sarif is only for `config`)".into(),
        ));
    }
    let target = build_target(args)?;
    let opts = options(args)?;
    let report = probe_one(&target, &opts);
    let out = match common.format {
        Format::Json => badgateway_report::probe::json(&report),
        Format::Markdown => badgateway_report::probe::markdown(&report),
        _ => badgateway_report::probe::text(&report),
    };
    // A closed pipe (`| head`) is not an error worth a panic.
    let _ = writeln!(std::io::stdout().lock(), "{}", out.trim_end());
    Ok(if report.verdict.is_ok() {
        Outcome::Clean
    } else {
        Outcome::Problems
    })
}

fn build_target(args: &ProbeArgs) -> Result<Target, Failure> {
    let mut target = Target::parse(&args.target).map_err(|e| Failure::Input(e.to_string()))?;
    if args.sni || args.ssl_name.is_some() {
        target = target.with_sni(args.sni, args.ssl_name.clone());
    }
    if let Some(p) = &args.ping_path {
        if !p.starts_with('/') {
            return Err(Failure::Input(format!(
                "--ping-path {p:?}: expected an absolute path such as /ping"
            )));
        }
        target = target.with_fastcgi_ping(p.clone());
    }
    if let Some(size) = &args.buffer_size {
        target = target.with_buffer_size(parse_size(size)?);
    }
    Ok(target)
}

fn options(args: &ProbeArgs) -> Result<ProbeOptions, Failure> {
    if !(args.timeout.is_finite() && args.timeout > 0.0 && args.timeout <= 600.0) {
        return Err(Failure::Input(format!(
            "--timeout {}: expected seconds between 0 and 600, e.g. 1.5",
            args.timeout
        )));
    }
    let mut opts = ProbeOptions::with_timeout(Duration::from_secs_f64(args.timeout));
    opts.identify = !args.no_identify;
    opts.trusted_certificate = args.trusted_certificate.clone();
    if let Some(user) = &args.user {
        opts.worker = Some(
            WorkerIdentity::lookup(user, args.group.as_deref())
                .map_err(|e| Failure::Input(format!("--user {user}: {e}")))?,
        );
    }
    Ok(opts)
}

/// An nginx size: `4096`, `4k`, `1m`.
fn parse_size(s: &str) -> Result<usize, Failure> {
    let t = s.trim().to_ascii_lowercase();
    let (num, mult) = match t.strip_suffix('k') {
        Some(n) => (n, 1024),
        None => match t.strip_suffix('m') {
            Some(n) => (n, 1024 * 1024),
            None => (t.as_str(), 1),
        },
    };
    num.parse::<usize>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .filter(|n| *n > 0)
        .ok_or_else(|| {
            Failure::Input(format!(
                "--buffer-size {s:?}: expected a size such as 4096, 4k or 1m"
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nginx_sizes() {
        assert_eq!(parse_size("4k").ok(), Some(4096));
        assert_eq!(parse_size("8192").ok(), Some(8192));
        assert_eq!(parse_size("1M").ok(), Some(1 << 20));
        assert!(parse_size("lots").is_err());
        assert!(parse_size("0").is_err());
    }
}
