//! `badgateway logs`.

use crate::args::{Common, LogsArgs};
use crate::exit::{CmdResult, Failure};

/// Run `badgateway logs`.
pub fn run(_args: &LogsArgs, _common: &Common) -> CmdResult {
    Err(Failure::NotBuilt("logs"))
}
