//! `badgateway explain`.

use crate::args::{Common, ExplainArgs};
use crate::exit::{CmdResult, Failure};

/// Run `badgateway explain`.
pub fn run(_args: &ExplainArgs, _common: &Common) -> CmdResult {
    Err(Failure::NotBuilt("explain"))
}
