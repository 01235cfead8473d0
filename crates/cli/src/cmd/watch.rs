//! `badgateway watch`.

use crate::args::{Common, WatchArgs};
use crate::exit::{CmdResult, Failure};

/// Run `badgateway watch`.
pub fn run(_args: &WatchArgs, _common: &Common) -> CmdResult {
    Err(Failure::NotBuilt("watch"))
}
