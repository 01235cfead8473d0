//! `badgateway lab`.

use crate::args::{Common, LabArgs};
use crate::exit::{CmdResult, Failure};

/// Run `badgateway lab`.
pub fn run(_args: &LabArgs, _common: &Common) -> CmdResult {
    Err(Failure::NotBuilt("lab"))
}
