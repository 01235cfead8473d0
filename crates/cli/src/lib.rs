//! The `badgateway` command line: argument parsing ([`args`]), one module
//! per subcommand ([`cmd`]), and the mapping of outcomes to exit statuses
//! ([`exit`]). This is the only crate that knows about processes and exit
//! codes.

pub mod args;
pub mod cmd;
pub mod exit;

use std::process::ExitCode;

use clap::Parser;

/// Parse the command line, run the subcommand, and turn the outcome into the
/// SPEC exit status (0 clean, 1 problems found, 2 usage or input error).
pub fn main() -> ExitCode {
    let cli = match args::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() {
                exit::USAGE
            } else {
                exit::CLEAN
            };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    exit::finish(cmd::run(cli))
}
