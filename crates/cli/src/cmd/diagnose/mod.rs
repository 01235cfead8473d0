//! `badgateway diagnose`.

use crate::args::{Common, DiagnoseArgs};
use crate::exit::{CmdResult, Failure};

/// Run `badgateway diagnose`.
pub fn run(_args: &DiagnoseArgs, _common: &Common) -> CmdResult {
    Err(Failure::NotBuilt("diagnose"))
}

pub mod inventory;
