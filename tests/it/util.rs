//! Helpers for running the `badgateway` binary.

use std::process::{Command, Output};

use serde_json::Value;

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

/// stdout parsed as JSON; the error says what came instead (exit status and
/// stderr).
pub fn json(o: &Output) -> Result<Value, String> {
    serde_json::from_slice(&o.stdout).map_err(|e| {
        format!(
            "no JSON ({e}); exit {:?}; stderr: {}",
            o.status.code(),
            stderr(o)
        )
    })
}

/// `cause upstream` of the first four findings of a diagnosis, for
/// failure messages.
pub fn top_findings(v: &Value) -> Vec<String> {
    v["findings"]
        .as_array()
        .map(|fs| {
            fs.iter()
                .take(4)
                .map(|f| format!("{} {}", f["cause"], f["upstream"]))
                .collect()
        })
        .unwrap_or_default()
}
