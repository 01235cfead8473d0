//! One module per subcommand. Each exposes `run(&args, &common) -> CmdResult`.

pub mod config;
pub mod diagnose;
pub mod explain;
pub mod lab;
pub mod logs;
pub mod probe;
pub mod route;
pub mod watch;

use crate::args::{Cli, Command};
use crate::exit::CmdResult;

/// Dispatch to the subcommand.
pub fn run(cli: Cli) -> CmdResult {
    let common = &cli.common;
    match &cli.command {
        Command::Diagnose(a) => diagnose::run(a, common),
        Command::Logs(a) => logs::run(a, common),
        Command::Explain(a) => explain::run(a, common),
        Command::Config(a) => config::run(a, common),
        Command::Route(a) => route::run(a, common),
        Command::Probe(a) => probe::run(a, common),
        Command::Watch(a) => watch::run(a, common),
        Command::Lab(a) => lab::run(a, common),
        Command::LabBackend(a) => lab::run_backend(a),
    }
}
