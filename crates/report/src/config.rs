//! Renderers for `badgateway config`: text grouped by file (severity
//! colours only when asked), the SPEC JSON contract, markdown, and SARIF
//! 2.1.0 (hand-written structs: the subset code-scanning tools read).
//! Config-derived text is neutralised in text and markdown output.

use std::fmt::Write as _;
use std::path::Path;

use badgateway_cause::Severity;
use badgateway_lint::{Finding, Lint};
use serde::Serialize;

use crate::escape::neutralize_str;

/// Everything a `config` report shows.
#[derive(Debug, Clone, Copy)]
pub struct ConfigReport<'a> {
    /// The main config file as given.
    pub config: &'a Path,
    /// The directory relative finding paths are relative to (absolute).
    pub conf_dir: &'a Path,
    /// The nginx version the defaults followed (`None`: unknown).
    pub nginx_version: Option<&'a str>,
    /// The findings, sorted.
    pub findings: &'a [Finding],
}

/// Counts by severity: (critical, warning, info).
fn counts(findings: &[Finding]) -> (usize, usize, usize) {
    let n = |s| findings.iter().filter(|f| f.severity == s).count();
    (
        n(Severity::Critical),
        n(Severity::Warning),
        n(Severity::Info),
    )
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// Text options.
#[derive(Debug, Clone, Copy, Default)]
pub struct TextOptions {
    /// Colour the severities (only on a terminal, without NO_COLOR).
    pub color: bool,
    /// One line per finding, no explanation or fix.
    pub quiet: bool,
}

fn paint(color: bool, code: &str, text: &str) -> String {
    if color {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_owned()
    }
}

fn severity_color(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "1;31",
        Severity::Warning => "33",
        Severity::Info => "36",
    }
}

/// Human-readable text: findings grouped by file, sorted by line, each with
/// `file:line`, severity, code, message, explanation and fix; a one-line
/// summary at the end.
pub fn text(r: &ConfigReport<'_>, opts: TextOptions) -> String {
    let mut out = String::new();
    let c = opts.color;
    let mut current: Option<&str> = None;
    for f in r.findings {
        let file = neutralize_str(&f.file);
        if current != Some(f.file.as_str()) {
            if current.is_some() {
                out.push('\n');
            }
            let _ = writeln!(out, "{}", paint(c, "1", &file));
            current = Some(&f.file);
        }
        let _ = writeln!(
            out,
            "  {file}:{}: {}[{}] {}",
            f.line,
            paint(c, severity_color(f.severity), f.severity.as_str()),
            paint(c, "2", f.code.code()),
            neutralize_str(&f.message)
        );
        if !opts.quiet {
            let _ = writeln!(out, "      why: {}", neutralize_str(&f.explanation));
            let _ = writeln!(
                out,
                "      {} {}",
                paint(c, "32", "fix:"),
                neutralize_str(&f.fix)
            );
        }
    }
    if !r.findings.is_empty() {
        out.push('\n');
    }
    let _ = writeln!(out, "{}", summary(r));
    out
}

/// The one-line summary (`3 findings in 2 files: 1 critical, 2 warnings, 0 info (nginx 1.22.1)`).
pub fn summary(r: &ConfigReport<'_>) -> String {
    let (crit, warn, info) = counts(r.findings);
    let mut files: Vec<&str> = r.findings.iter().map(|f| f.file.as_str()).collect();
    files.sort_unstable();
    files.dedup();
    let version = match r.nginx_version {
        Some(v) => format!("nginx {v}"),
        None => "nginx version unknown: defaults of nginx before 1.29.7 assumed".to_owned(),
    };
    let config = neutralize_str(&r.config.display().to_string()).into_owned();
    if r.findings.is_empty() {
        return format!("{config}: no findings ({version})");
    }
    format!(
        "{config}: {} in {}: {crit} critical, {}, {info} info ({version})",
        plural(r.findings.len(), "finding"),
        plural(files.len(), "file"),
        plural(warn, "warning"),
    )
}

#[derive(Serialize)]
struct JsonReport<'a> {
    version: u32,
    config: String,
    nginx_version: Option<&'a str>,
    summary: JsonSummary,
    findings: &'a [Finding],
}

#[derive(Serialize)]
struct JsonSummary {
    critical: usize,
    warning: usize,
    info: usize,
}

/// The SPEC JSON contract: `{"version": 1, "findings": [{code, cause,
/// severity, file, line, message, fix, …}]}` plus the config, the nginx
/// version and counts.
pub fn json(r: &ConfigReport<'_>) -> String {
    let (critical, warning, info) = counts(r.findings);
    let doc = JsonReport {
        version: 1,
        config: r.config.display().to_string(),
        nginx_version: r.nginx_version,
        summary: JsonSummary {
            critical,
            warning,
            info,
        },
        findings: r.findings,
    };
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    s
}

/// Markdown for an incident ticket: a table of findings, then fixes.
pub fn markdown(r: &ConfigReport<'_>) -> String {
    let cell = |s: &str| neutralize_str(s).replace('|', "\\|").replace('`', "'");
    let mut out = format!(
        "## badgateway config: `{}`\n\n",
        cell(&r.config.display().to_string())
    );
    let _ = writeln!(out, "{}\n", cell(&summary(r)));
    if r.findings.is_empty() {
        return out;
    }
    out.push_str("| where | severity | code | finding | fix |\n|---|---|---|---|---|\n");
    for f in r.findings {
        let _ = writeln!(
            out,
            "| `{}:{}` | {} | `{}` | {} | `{}` |",
            cell(&f.file),
            f.line,
            f.severity,
            f.code,
            cell(&f.message),
            cell(&f.fix)
        );
    }
    out
}

// --- SARIF 2.1.0 -----------------------------------------------------------

#[derive(Serialize)]
struct SarifLog<'a> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: Vec<Run<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Run<'a> {
    tool: Tool,
    original_uri_base_ids: std::collections::BTreeMap<&'static str, ArtifactLocation>,
    results: Vec<SarifResult<'a>>,
}

#[derive(Serialize)]
struct Tool {
    driver: Driver,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Driver {
    name: &'static str,
    version: &'static str,
    rules: Vec<Rule>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Rule {
    id: &'static str,
    short_description: Text,
    full_description: Text,
    help: Text,
    default_configuration: Configuration,
    properties: RuleProperties,
}

#[derive(Serialize)]
struct RuleProperties {
    severity: Severity,
    cause: Option<badgateway_cause::Cause>,
}

#[derive(Serialize)]
struct Configuration {
    level: &'static str,
}

#[derive(Serialize)]
struct Text {
    text: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult<'a> {
    rule_id: &'static str,
    rule_index: usize,
    level: &'static str,
    message: Text,
    locations: Vec<Location>,
    properties: ResultProperties<'a>,
}

#[derive(Serialize)]
struct ResultProperties<'a> {
    severity: Severity,
    cause: Option<badgateway_cause::Cause>,
    fix: &'a str,
    explanation: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Location {
    physical_location: PhysicalLocation,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation {
    artifact_location: ArtifactLocation,
    region: Region,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ArtifactLocation {
    uri: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    uri_base_id: Option<&'static str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Region {
    start_line: u32,
    start_column: u32,
}

/// The base id relative artifact URIs are resolved against.
pub const SARIF_BASE_ID: &str = "NGINX_CONF_DIR";

/// SARIF's level for a severity.
pub fn sarif_level(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// Percent-encode a path for a URI (RFC 3986: unreserved characters and
/// `/` stay).
fn uri_path(p: &str) -> String {
    let mut out = String::with_capacity(p.len());
    for b in p.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

fn artifact(file: &str) -> ArtifactLocation {
    if file.starts_with('/') {
        ArtifactLocation {
            uri: format!("file://{}", uri_path(file)),
            uri_base_id: None,
        }
    } else {
        ArtifactLocation {
            uri: uri_path(file),
            uri_base_id: Some(SARIF_BASE_ID),
        }
    }
}

/// SARIF 2.1.0: one run, every lint as a rule (ids = lint codes), one
/// result per finding with its level, message (and fix), and location.
pub fn sarif(r: &ConfigReport<'_>) -> String {
    let rules = Lint::ALL
        .iter()
        .map(|&l| Rule {
            id: l.code(),
            short_description: Text {
                text: l.title().to_owned(),
            },
            full_description: Text {
                text: l.help().to_owned(),
            },
            help: Text {
                text: format!("{} See LINTS.md#{}.", l.help(), l.code()),
            },
            default_configuration: Configuration {
                level: sarif_level(l.severity()),
            },
            properties: RuleProperties {
                severity: l.severity(),
                cause: l.cause(),
            },
        })
        .collect();
    let results = r
        .findings
        .iter()
        .map(|f| SarifResult {
            rule_id: f.code.code(),
            rule_index: Lint::ALL.iter().position(|&l| l == f.code).unwrap_or(0),
            level: sarif_level(f.severity),
            message: Text {
                text: format!("{} Fix: {}", f.message, f.fix),
            },
            locations: vec![Location {
                physical_location: PhysicalLocation {
                    artifact_location: artifact(&f.file),
                    region: Region {
                        start_line: f.line.max(1),
                        start_column: f.column.max(1),
                    },
                },
            }],
            properties: ResultProperties {
                severity: f.severity,
                cause: f.cause,
                fix: &f.fix,
                explanation: &f.explanation,
            },
        })
        .collect();
    let mut dir = uri_path(&r.conf_dir.display().to_string());
    if !dir.ends_with('/') {
        dir.push('/');
    }
    let mut bases = std::collections::BTreeMap::new();
    bases.insert(
        SARIF_BASE_ID,
        ArtifactLocation {
            uri: format!("file://{dir}"),
            uri_base_id: None,
        },
    );
    let log = SarifLog {
        schema: "https://json.schemastore.org/sarif-2.1.0.json",
        version: "2.1.0",
        runs: vec![Run {
            tool: Tool {
                driver: Driver {
                    name: "badgateway",
                    version: env!("CARGO_PKG_VERSION"),
                    rules,
                },
            },
            original_uri_base_ids: bases,
            results,
        }],
    };
    let mut s = serde_json::to_string_pretty(&log).unwrap_or_default();
    s.push('\n');
    s
}
