//! `badgateway lab` and the hidden `badgateway lab-backend`.

use crate::args::{Common, LabArgs, LabBackendArgs};
use crate::exit::{CmdResult, Failure};

/// Run `badgateway lab`.
pub fn run(_args: &LabArgs, _common: &Common) -> CmdResult {
    Err(Failure::NotBuilt("lab"))
}

/// Run the fault-injecting backend until killed.
pub fn run_backend(args: &LabBackendArgs) -> CmdResult {
    let listen: badgateway_lab::Listen = args.listen.parse().map_err(Failure::Input)?;
    let fault: badgateway_lab::Fault = args.fault.parse().map_err(Failure::Input)?;
    badgateway_lab::Backend::run(&listen, fault)
        .map_err(|e| Failure::Input(format!("lab-backend {}: {e}", args.listen)))?;
    Ok(crate::exit::Outcome::Clean)
}
