//! Helpers for running the `badgateway` binary.

use std::process::{Command, Output};

/// Run the built `badgateway` binary with `args`.
pub fn badgateway(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_badgateway"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run badgateway")
}

/// stdout as a string.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// stderr as a string.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}
