//! `badgateway route`.

use crate::args::{Common, RouteArgs};
use crate::exit::{CmdResult, Failure};

/// Run `badgateway route`.
pub fn run(_args: &RouteArgs, _common: &Common) -> CmdResult {
    Err(Failure::NotBuilt("route"))
}
