//! `badgateway probe`.

use crate::args::{Common, ProbeArgs};
use crate::exit::{CmdResult, Failure};

/// Run `badgateway probe`.
pub fn run(_args: &ProbeArgs, _common: &Common) -> CmdResult {
    Err(Failure::NotBuilt("probe"))
}
