//! `badgateway config`.

use crate::args::{Common, ConfigArgs};
use crate::exit::{CmdResult, Failure};

/// Run `badgateway config`.
pub fn run(_args: &ConfigArgs, _common: &Common) -> CmdResult {
    Err(Failure::NotBuilt("config"))
}
