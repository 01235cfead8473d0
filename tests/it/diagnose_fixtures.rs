//! Offline diagnosis of recorded incidents: every directory under
//! tests/data/diagnose/ holds an nginx.conf, the error.log (and optionally
//! access.log) it wrote during the incident, in nginx 1.22's exact wording,
//! and an expect.toml naming the root cause. These cover causes that cannot
//! be reproduced on loopback (SELinux denials, unreachable networks,
//! descriptor and port exhaustion, certificate errors) and mixes of causes
//! where a symptom must not outrank its cause.
//!
//! Each case runs the real binary: `diagnose --config CASE/nginx.conf
//! --prefix CASE --offline --format json`. The top finding must name the
//! expected cause (and upstream, severity, evidence lines and the second
//! finding's cause, when the case says), carry evidence and a fix, the exit status must be 1, and
//! the JSON must have the SPEC's shape. All failures are reported at once.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;
use serde_json::Value;

use crate::util::{json, top_findings};

/// The SPEC's root-cause codes.
const CAUSES: &[&str] = &[
    "upstream-down",
    "address-mismatch",
    "socket-missing",
    "socket-permission",
    "policy-denied",
    "network-unreachable",
    "connect-timeout",
    "backend-overloaded",
    "servers-marked-down",
    "dns-failure",
    "backend-crash",
    "keepalive-race",
    "header-too-big",
    "protocol-mismatch",
    "tls-error",
    "invalid-response",
    "upstream-timeout",
    "fd-exhaustion",
    "worker-connections",
    "port-exhaustion",
    "backend-returned-error",
    "cached-error",
    "stale-config",
    "unknown",
];

/// A case's expect.toml.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    /// The top finding's cause.
    cause: String,
    /// The top finding's upstream, when meaningful.
    upstream: Option<String>,
    /// The top finding's severity.
    severity: Option<String>,
    /// Texts the top finding's evidence must contain (each in some item).
    #[serde(default)]
    evidence: Vec<String>,
    /// The second finding's cause.
    second: Option<String>,
    /// Causes no finding may name (symptoms taken for causes).
    #[serde(default)]
    absent: Vec<String>,
}

fn cases() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/diagnose");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("expect.toml").is_file())
        .collect();
    dirs.sort();
    dirs
}

/// Check one case; `Err` lists what is wrong.
fn check(dir: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(dir.join("expect.toml")).map_err(|e| e.to_string())?;
    let expect: Expect = toml::from_str(&text).map_err(|e| format!("expect.toml: {e}"))?;
    for c in std::iter::once(&expect.cause)
        .chain(&expect.second)
        .chain(&expect.absent)
    {
        if !CAUSES.contains(&c.as_str()) {
            return Err(format!("expect.toml names {c:?}, not a SPEC cause"));
        }
    }
    let conf = dir.join("nginx.conf");
    let out = Command::new(env!("CARGO_BIN_EXE_badgateway"))
        .arg("diagnose")
        .arg("--config")
        .arg(&conf)
        .arg("--prefix")
        .arg(dir)
        .args(["--offline", "--format", "json", "--no-color"])
        .output()
        .map_err(|e| format!("cannot run badgateway: {e}"))?;
    let v = json(&out)?;
    let mut errs = shape_errors(&v);
    if out.status.code() != Some(1) {
        errs.push(format!(
            "exit {:?}, expected 1 (problems found)",
            out.status.code()
        ));
    }
    let findings = v["findings"].as_array().cloned().unwrap_or_default();
    let found = top_findings(&v);
    let top = findings.first().cloned().unwrap_or(Value::Null);
    if top["cause"] != expect.cause.as_str() {
        errs.push(format!("expected {} first, found {found:?}", expect.cause));
    }
    if let Some(u) = &expect.upstream
        && top["upstream"] != u.as_str()
    {
        errs.push(format!("expected upstream {u} first, found {found:?}"));
    }
    if let Some(s) = &expect.severity
        && top["severity"] != s.as_str()
    {
        errs.push(format!("expected severity {s}, found {}", top["severity"]));
    }
    let texts: Vec<&str> = top["evidence"]
        .as_array()
        .map(|e| e.iter().filter_map(|x| x["text"].as_str()).collect())
        .unwrap_or_default();
    for want in &expect.evidence {
        if !texts.iter().any(|t| t.contains(want.as_str())) {
            errs.push(format!("top finding's evidence lacks {want:?}: {texts:?}"));
        }
    }
    if let Some(second) = &expect.second
        && findings.get(1).map(|f| &f["cause"]) != Some(&Value::from(second.as_str()))
    {
        errs.push(format!("expected {second} second, found {found:?}"));
    }
    for a in &expect.absent {
        if findings.iter().any(|f| f["cause"] == a.as_str()) {
            errs.push(format!("{a} must not be a finding, found {found:?}"));
        }
    }
    if top["evidence"].as_array().is_none_or(Vec::is_empty)
        || top["fix"].as_str().is_none_or(|s| s.trim().is_empty())
        || top["summary"].as_str().is_none_or(|s| s.trim().is_empty())
    {
        errs.push(format!(
            "top finding without evidence, summary or fix: {top}"
        ));
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(errs.join("; "))
    }
}

/// Where `v` departs from the SPEC's `diagnose --format json` shape.
fn shape_errors(v: &Value) -> Vec<String> {
    let mut errs = Vec::new();
    let mut need = |ok: bool, what: &str| {
        if !ok {
            errs.push(format!("JSON shape: {what}"));
        }
    };
    need(v["version"] == 1, "version must be 1");
    let nginx = &v["nginx"];
    need(nginx.is_object(), "nginx must be an object");
    for k in ["binary", "version", "config"] {
        need(
            nginx.get(k).is_some_and(|x| x.is_string() || x.is_null()),
            &format!("nginx.{k} must be a string or null"),
        );
    }
    need(
        nginx
            .get("master_pid")
            .is_some_and(|x| x.is_u64() || x.is_null()),
        "nginx.master_pid must be a number or null",
    );
    let Some(findings) = v["findings"].as_array() else {
        need(false, "findings must be an array");
        return errs;
    };
    for (i, f) in findings.iter().enumerate() {
        let at = |what: &str| format!("findings[{i}].{what}");
        need(
            f["cause"].as_str().is_some_and(|c| CAUSES.contains(&c)),
            &at("cause must be a SPEC code"),
        );
        need(
            matches!(
                f["severity"].as_str(),
                Some("critical" | "warning" | "info")
            ),
            &at("severity must be critical, warning or info"),
        );
        need(
            f["confidence"]
                .as_f64()
                .is_some_and(|c| (0.0..=1.0).contains(&c)),
            &at("confidence must be within 0..1"),
        );
        need(
            f["upstream"].is_string() || f["upstream"].is_null(),
            &at("upstream must be a string or null"),
        );
        need(
            f["locations"]
                .as_array()
                .is_some_and(|l| l.iter().all(Value::is_string)),
            &at("locations must be an array of strings"),
        );
        need(f["summary"].is_string(), &at("summary must be a string"));
        need(f["fix"].is_string(), &at("fix must be a string"));
        let Some(evidence) = f["evidence"].as_array() else {
            need(false, &at("evidence must be an array"));
            continue;
        };
        for (j, e) in evidence.iter().enumerate() {
            let ok = e["kind"].is_string()
                && e["text"].is_string()
                && e.get("count").is_none_or(|c| c.is_u64() || c.is_null())
                && e.get("first").is_none_or(|t| t.is_string() || t.is_null())
                && e.get("last").is_none_or(|t| t.is_string() || t.is_null());
            need(
                ok,
                &at(&format!(
                    "evidence[{j}] must have kind and text strings, count number, first/last strings"
                )),
            );
        }
    }
    errs
}

#[test]
fn every_recorded_incident_is_diagnosed_with_its_root_cause() {
    let dirs = cases();
    assert!(
        dirs.len() >= 10,
        "expected the fixture cases under tests/data/diagnose, found {}",
        dirs.len()
    );
    let failures: Vec<String> = dirs
        .iter()
        .filter_map(|d| {
            check(d).err().map(|e| {
                format!(
                    "{}: {e}",
                    d.file_name().unwrap_or_default().to_string_lossy()
                )
            })
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases misdiagnosed:\n{}",
        failures.len(),
        dirs.len(),
        failures.join("\n")
    );
}
