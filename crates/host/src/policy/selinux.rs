//! SELinux: the mode, the `httpd_can_network_connect` family of booleans
//! (off by default on RHEL: nginx may then connect only to ports labelled
//! for HTTP, and any other upstream gets `13: Permission denied`), and AVC
//! denials from the audit log or kernel records.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::kernlog::KernelRecord;
use crate::time::{UnixMillis, frac_millis};

/// The booleans that decide whether nginx (`httpd_t`) may connect out.
pub const HTTPD_BOOLEANS: &[&str] = &[
    "httpd_can_network_connect",
    "httpd_can_network_relay",
    "httpd_can_network_connect_db",
];

/// SELinux's mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SelinuxMode {
    /// Denials are enforced.
    Enforcing,
    /// Denials are only logged.
    Permissive,
}

/// Parse `/sys/fs/selinux/enforce`.
pub fn parse_enforce(text: &str) -> Option<SelinuxMode> {
    match text.trim() {
        "1" => Some(SelinuxMode::Enforcing),
        "0" => Some(SelinuxMode::Permissive),
        _ => None,
    }
}

/// Parse a boolean file (`1 1`: current and pending value).
pub fn parse_boolean(text: &str) -> Option<bool> {
    match text.split_ascii_whitespace().next()? {
        "1" => Some(true),
        "0" => Some(false),
        _ => None,
    }
}

/// One AVC denial.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AvcDenial {
    /// When (from `audit(SECONDS.MS:SERIAL)`).
    pub time: Option<UnixMillis>,
    /// The denied permissions (`name_connect`, `connectto`, `write`).
    pub permissions: Vec<String>,
    /// Process name.
    pub comm: Option<String>,
    /// Process id.
    pub pid: Option<u32>,
    /// Destination port for network denials.
    pub dest_port: Option<u16>,
    /// Path or name of the object (`/run/php/php8.2-fpm.sock`).
    pub path: Option<String>,
    /// Source context (`system_u:system_r:httpd_t:s0`).
    pub scontext: Option<String>,
    /// Target context.
    pub tcontext: Option<String>,
    /// Target class (`tcp_socket`, `sock_file`, `unix_stream_socket`).
    pub tclass: Option<String>,
    /// Whether the domain was permissive (logged, not enforced).
    pub permissive: bool,
}

impl AvcDenial {
    /// Whether the denial concerns nginx (its `comm` or the `httpd_t`
    /// domain).
    pub fn is_nginx(&self) -> bool {
        self.comm.as_deref() == Some("nginx")
            || self
                .scontext
                .as_deref()
                .is_some_and(|s| s.contains(":httpd_t:"))
    }
}

/// The value of `key=` in an audit line (quotes removed).
pub(crate) fn audit_field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let mut search = line;
    loop {
        let at = search.find(key)?;
        let before_ok = at == 0 || search.as_bytes()[at - 1] == b' ';
        let after = &search[at + key.len()..];
        if before_ok && let Some(v) = after.strip_prefix('=') {
            return Some(if let Some(q) = v.strip_prefix('"') {
                q.split('"').next().unwrap_or("")
            } else {
                v.split(' ').next().unwrap_or("")
            });
        }
        search = after;
    }
}

/// `audit(1714566896.123:456)` → the time.
pub(crate) fn audit_time(line: &str) -> Option<UnixMillis> {
    let (_, r) = line.split_once("audit(")?;
    let (ts, _) = r.split_once(':')?;
    let (s, ms) = ts.split_once('.').unwrap_or((ts, "0"));
    let s: i64 = s.parse().ok()?;
    UnixMillis::from_secs_millis(s, frac_millis(ms)?)
}

/// Parse an AVC denial from an audit log line or a kernel record.
pub fn parse_avc(line: &str) -> Option<AvcDenial> {
    let (_, rest) = line.split_once("avc:")?;
    let rest = rest.trim_start();
    let rest = rest.strip_prefix("denied")?;
    let (_, perms) = rest.split_once('{')?;
    let (perms, _) = perms.split_once('}')?;
    Some(AvcDenial {
        time: audit_time(line),
        permissions: perms.split_whitespace().map(str::to_string).collect(),
        comm: audit_field(line, "comm").map(str::to_string),
        pid: audit_field(line, "pid").and_then(|v| v.parse().ok()),
        dest_port: audit_field(line, "dest").and_then(|v| v.parse().ok()),
        path: audit_field(line, "path")
            .or_else(|| audit_field(line, "name"))
            .map(str::to_string),
        scontext: audit_field(line, "scontext").map(str::to_string),
        tcontext: audit_field(line, "tcontext").map(str::to_string),
        tclass: audit_field(line, "tclass").map(str::to_string),
        permissive: audit_field(line, "permissive") == Some("1"),
    })
}

/// SELinux as found on the host.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SelinuxFacts {
    /// Enforcing or permissive; `None` when SELinux is disabled or absent.
    pub mode: Option<SelinuxMode>,
    /// The httpd network booleans that exist here, with their values.
    pub booleans: BTreeMap<String, bool>,
    /// Recent denials concerning nginx (newest last, at most 50).
    pub nginx_denials: Vec<AvcDenial>,
}

impl SelinuxFacts {
    /// `httpd_can_network_connect`, when SELinux has it.
    pub fn httpd_can_network_connect(&self) -> Option<bool> {
        self.booleans.get("httpd_can_network_connect").copied()
    }
}

/// nginx denials among audit-log lines and kernel records.
pub fn nginx_avc_denials<'a>(
    audit_lines: impl Iterator<Item = &'a str>,
    kernel: &'a [KernelRecord],
) -> Vec<AvcDenial> {
    let mut out: Vec<AvcDenial> = audit_lines
        .chain(kernel.iter().map(|r| r.text.as_str()))
        .filter_map(parse_avc)
        .filter(AvcDenial::is_nginx)
        .collect();
    out.sort_by_key(|d| d.time);
    out.dedup();
    let cut = out.len().saturating_sub(50);
    out.drain(..cut);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn avc_lines() {
        let l = r#"type=AVC msg=audit(1763737200.456:1122): avc:  denied  { name_connect } for  pid=812 comm="nginx" dest=8000 scontext=system_u:system_r:httpd_t:s0 tcontext=system_u:object_r:soundd_port_t:s0 tclass=tcp_socket permissive=0"#;
        let d = parse_avc(l).unwrap();
        assert_eq!(d.permissions, vec!["name_connect"]);
        assert_eq!(d.comm.as_deref(), Some("nginx"));
        assert_eq!(d.pid, Some(812));
        assert_eq!(d.dest_port, Some(8000));
        assert_eq!(d.tclass.as_deref(), Some("tcp_socket"));
        assert_eq!(d.time, Some(UnixMillis(1_763_737_200_456)));
        assert!(d.is_nginx());
        assert!(!d.permissive);
        let s = r#"audit: type=1400 audit(1763737300.001:5): avc:  denied  { write } for  pid=900 comm="nginx" name="php8.2-fpm.sock" dev="tmpfs" ino=123 scontext=system_u:system_r:httpd_t:s0 tcontext=system_u:object_r:var_run_t:s0 tclass=sock_file permissive=1"#;
        let d = parse_avc(s).unwrap();
        assert_eq!(d.path.as_deref(), Some("php8.2-fpm.sock"));
        assert!(d.permissive);
        assert!(parse_avc("avc: granted { x }").is_none());
        assert_eq!(parse_enforce("1\n"), Some(SelinuxMode::Enforcing));
        assert_eq!(parse_boolean("0 1"), Some(false));
        assert_eq!(parse_boolean(""), None);
        assert_eq!(audit_field("xpid=1 pid=2", "pid"), Some("2"));
    }
}
