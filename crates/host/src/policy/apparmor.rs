//! AppArmor: which profile confines nginx and in which mode, and
//! `apparmor="DENIED"` records for it (an nginx profile without the
//! upstream socket's path gives `13: Permission denied` on connect).

use serde::Serialize;

use super::selinux::{audit_field, audit_time};
use crate::kernlog::KernelRecord;
use crate::time::UnixMillis;

/// A process's confinement, from `/proc/PID/attr/apparmor/current` (or
/// `attr/current`): `unconfined`, or `PROFILE (enforce|complain)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Confinement {
    /// The profile name, `None` when unconfined.
    pub profile: Option<String>,
    /// `enforce`, `complain`, `kill`, `unconfined`.
    pub mode: Option<String>,
}

/// Parse an AppArmor label. SELinux contexts (`user:role:type:level`) are
/// not AppArmor labels and give `None`.
pub fn parse_label(text: &str) -> Option<Confinement> {
    let t = text.trim_end_matches(['\0', '\n']).trim();
    if t.is_empty() {
        return None;
    }
    if t == "unconfined" {
        return Some(Confinement {
            profile: None,
            mode: None,
        });
    }
    let (profile, mode) = t.rsplit_once(" (")?;
    Some(Confinement {
        profile: Some(profile.to_string()),
        mode: Some(mode.trim_end_matches(')').to_string()),
    })
}

/// Parse `/sys/kernel/security/apparmor/profiles` (`name (mode)` lines).
pub fn parse_profiles(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| {
            let (n, m) = l.rsplit_once(" (")?;
            Some((n.to_string(), m.trim_end_matches(')').to_string()))
        })
        .collect()
}

/// One `apparmor="DENIED"` record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppArmorDenial {
    /// When.
    pub time: Option<UnixMillis>,
    /// `connect`, `open`, `file_perm`, …
    pub operation: Option<String>,
    /// The confining profile.
    pub profile: Option<String>,
    /// The object (a socket path).
    pub name: Option<String>,
    /// Process name.
    pub comm: Option<String>,
    /// What was denied (`wr`).
    pub denied_mask: Option<String>,
}

/// Parse an AppArmor denial record.
pub fn parse_apparmor_denial(line: &str) -> Option<AppArmorDenial> {
    if audit_field(line, "apparmor") != Some("DENIED") {
        return None;
    }
    let s = |k| audit_field(line, k).map(str::to_string);
    Some(AppArmorDenial {
        time: audit_time(line),
        operation: s("operation"),
        profile: s("profile"),
        name: s("name"),
        comm: s("comm"),
        denied_mask: s("denied_mask"),
    })
}

/// AppArmor as found on the host.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AppArmorFacts {
    /// Loaded profiles whose name mentions nginx, with their mode.
    pub nginx_profiles: Vec<(String, String)>,
    /// The running nginx master's confinement, when readable.
    pub nginx_confinement: Option<Confinement>,
    /// Recent denials for nginx (at most 50, newest last).
    pub nginx_denials: Vec<AppArmorDenial>,
}

/// nginx denials among kernel records.
pub fn nginx_apparmor_denials(kernel: &[KernelRecord]) -> Vec<AppArmorDenial> {
    let mut out: Vec<AppArmorDenial> = kernel
        .iter()
        .filter_map(|r| parse_apparmor_denial(&r.text))
        .filter(|d| {
            d.comm.as_deref() == Some("nginx")
                || d.profile.as_deref().is_some_and(|p| p.contains("nginx"))
        })
        .collect();
    let cut = out.len().saturating_sub(50);
    out.drain(..cut);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_profiles_denials() {
        assert_eq!(
            parse_label("/usr/sbin/nginx (enforce)\n"),
            Some(Confinement {
                profile: Some("/usr/sbin/nginx".into()),
                mode: Some("enforce".into())
            })
        );
        assert_eq!(parse_label("unconfined\n").unwrap().profile, None);
        assert_eq!(parse_label("system_u:system_r:httpd_t:s0"), None);
        let p = parse_profiles("/usr/sbin/nginx (enforce)\nnginx//php (complain)\n");
        assert_eq!(p[1], ("nginx//php".into(), "complain".into()));
        let d = parse_apparmor_denial(r#"audit: type=1400 audit(1763737400.5:9): apparmor="DENIED" operation="connect" profile="/usr/sbin/nginx" name="/run/php/php8.2-fpm.sock" pid=812 comm="nginx" requested_mask="wr" denied_mask="wr" fsuid=33 ouid=0"#).unwrap();
        assert_eq!(d.operation.as_deref(), Some("connect"));
        assert_eq!(d.name.as_deref(), Some("/run/php/php8.2-fpm.sock"));
        assert_eq!(d.denied_mask.as_deref(), Some("wr"));
        assert!(parse_apparmor_denial(r#"apparmor="ALLOWED" operation="x""#).is_none());
    }
}
