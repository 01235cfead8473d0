//! The engine's output: findings in the SPEC's JSON shape, plus the
//! ranking facts (how many requests failed, whether it fails now).

use badgateway_cause::{Cause, Severity};
use serde::Serialize;

/// One root cause, with its evidence and fix.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// SPEC cause code.
    pub cause: Cause,
    /// How serious.
    pub severity: Severity,
    /// 0.0–1.0: how strongly the evidence supports the cause.
    pub confidence: f32,
    /// The affected upstream (peer address, socket, or group name).
    pub upstream: Option<String>,
    /// `file:line` of the directives involved.
    pub locations: Vec<String>,
    /// One sentence.
    pub summary: String,
    /// What it rests on.
    pub evidence: Vec<Proof>,
    /// What to change, concretely.
    pub fix: String,
    /// Requests that failed for the client because of it, in the window.
    pub failed_requests: u64,
    /// Whether a probe or host check shows it failing right now.
    pub live: bool,
}

/// One piece of evidence.
#[derive(Debug, Clone, Serialize)]
pub struct Proof {
    /// `log`, `access-log`, `probe`, `host`, `config`.
    pub kind: &'static str,
    /// The raw line or fact.
    pub text: String,
    /// How many times (log entries, requests).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    /// First time seen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first: Option<String>,
    /// Last time seen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last: Option<String>,
}

impl Finding {
    /// A fact observed now (a probe, the host) shows the failure is still
    /// happening: the finding is live, with that fact as evidence.
    pub fn failing_now(&mut self, kind: &'static str, text: impl Into<String>) {
        self.live = true;
        self.evidence.push(Proof::fact(kind, text));
    }
}

impl Proof {
    /// A fact without counts.
    pub fn fact(kind: &'static str, text: impl Into<String>) -> Proof {
        Proof {
            kind,
            text: text.into(),
            count: None,
            first: None,
            last: None,
        }
    }
}

/// The ranked result of a diagnosis.
#[derive(Debug, Clone, Serialize)]
pub struct Diagnosis {
    /// Most likely root cause of the user-visible errors first.
    pub findings: Vec<Finding>,
    /// What was checked (for the "nothing wrong" report).
    pub checked: Vec<String>,
    /// What could not be checked, and why.
    pub not_checked: Vec<String>,
    /// Upstream errors in the error log's window (recovered by a retry or
    /// not): failures seen, even when no client got an error.
    pub logged_failures: u64,
}

impl Diagnosis {
    /// Whether the exit status should say "problems found" (SPEC: upstream
    /// failures seen in the window or now, or a critical finding).
    pub fn has_problems(&self) -> bool {
        self.logged_failures > 0
            || self
                .findings
                .iter()
                .any(|f| f.severity == Severity::Critical || f.failed_requests > 0 || f.live)
    }
}
