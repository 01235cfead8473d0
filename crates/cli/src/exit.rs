//! Exit statuses, in one place (SPEC): 0 no problem found, 1 problems found,
//! 2 usage or input error. Errors are printed as one clear line, never a
//! panic or a backtrace.

use std::fmt;
use std::process::ExitCode;

/// No problem found.
pub const CLEAN: u8 = 0;
/// Problems found (upstream failures, critical findings, lint at `--fail-on`).
pub const PROBLEMS: u8 = 1;
/// Usage or input error.
pub const USAGE: u8 = 2;

/// What a subcommand concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing wrong.
    Clean,
    /// Problems found and reported.
    Problems,
}

/// Why a subcommand could not do its job (always exit 2).
#[derive(Debug)]
pub enum Failure {
    /// Bad arguments or input (file:line: message), already phrased for a person.
    Input(String),
    /// The subcommand exists in the SPEC but is not built in this version.
    NotBuilt(&'static str),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Input(msg) => f.write_str(msg),
            Failure::NotBuilt(cmd) => write!(
                f,
                "`badgateway {cmd}` is not built yet in this version; see README.md for what works today"
            ),
        }
    }
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Failure::Input(format!("{e:#}"))
    }
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        Failure::Input(e.to_string())
    }
}

/// Result of a subcommand.
pub type CmdResult = Result<Outcome, Failure>;

/// Print a failure (one line on stderr) and map the result to an exit code.
pub fn finish(result: CmdResult) -> ExitCode {
    match result {
        Ok(Outcome::Clean) => ExitCode::from(CLEAN),
        Ok(Outcome::Problems) => ExitCode::from(PROBLEMS),
        Err(f) => {
            eprintln!(
                "badgateway: {}",
                badgateway_report::neutralize_str(&f.to_string())
            );
            ExitCode::from(USAGE)
        }
    }
}
