//! Every lab scenario, end to end: `badgateway lab NAME` brings up a real
//! nginx with its faulty backends, sends the traffic, diagnoses that nginx
//! live (config, logs, probes, host), and the top finding must name the
//! scenario's expected root cause (and upstream, when the scenario names
//! one). Scenarios run one after another so that one scenario's backends
//! cannot be mistaken for another's.

use std::process::Command;

use badgateway_lab::require_nginx;
use badgateway_lab::scenario;

use crate::util::{json, top_findings};

/// Run one scenario; `Err` says what the diagnosis concluded instead.
fn check(name: &str) -> Result<(), String> {
    let out = Command::new(env!("CARGO_BIN_EXE_badgateway"))
        .args(["lab", name, "--format", "json", "--no-color"])
        .output()
        .map_err(|e| format!("cannot run badgateway: {e}"))?;
    let v = json(&out)?;
    if out.status.code() != Some(1) {
        return Err(format!(
            "exit {:?}, expected 1 (problems found)",
            out.status.code()
        ));
    }
    let statuses = &v["lab"]["statuses"];
    let failed = statuses.as_array().is_some_and(|s| {
        s.iter()
            .any(|x| x.as_u64().is_none_or(|x| x >= 500 || x == 0))
    });
    let expect = &v["lab"]["expect"];
    let top = &v["findings"][0];
    // A failure nginx recovers from by retrying (keepalive races) shows
    // only in the error log.
    let logged = top["evidence"]
        .as_array()
        .is_some_and(|e| e.iter().any(|x| x["kind"] == "log"));
    if !failed && !logged {
        return Err(format!("nothing failed: statuses {statuses}"));
    }
    let found = top_findings(&v);
    if top["cause"] != expect["cause"] {
        return Err(format!(
            "expected {} first, found {found:?}",
            expect["cause"]
        ));
    }
    if !expect["upstream"].is_null() && top["upstream"] != expect["upstream"] {
        return Err(format!(
            "expected upstream {} for {}, found {found:?}",
            expect["upstream"], expect["cause"]
        ));
    }
    let evidence = top["evidence"].as_array().map_or(0, Vec::len);
    if evidence == 0 || top["fix"].as_str().is_none_or(str::is_empty) {
        return Err(format!("top finding without evidence or fix: {top}"));
    }
    Ok(())
}

#[test]
fn every_scenario_is_diagnosed_with_its_root_cause() {
    let Some(_nginx) = require_nginx() else {
        return;
    };
    let mut failures = Vec::new();
    let names: Vec<&str> = scenario::all().iter().map(|(n, _)| *n).collect();
    for name in &names {
        if let Err(e) = check(name) {
            failures.push(format!("{name}: {e}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} scenarios misdiagnosed:\n{}",
        failures.len(),
        names.len(),
        failures.join("\n")
    );
}
