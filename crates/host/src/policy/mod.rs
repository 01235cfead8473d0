//! Security policy between nginx and its upstreams: SELinux (mode,
//! booleans, AVC denials), AppArmor (nginx's profile, denials) and local
//! firewall rules. Each part degrades on its own: no SELinux is a fact,
//! an unreadable audit log is a gap.

pub mod apparmor;
pub mod firewall;
pub mod selinux;

use std::path::Path;
use std::time::Duration;

use serde::Serialize;

use crate::command::{failure, find_program, run_bounded};
use crate::kernlog::KernelRecord;
use crate::reader::Root;
use crate::section::{Section, Skip, SkipReason};

pub use apparmor::{AppArmorDenial, AppArmorFacts, Confinement};
pub use firewall::{ChainPolicy, FirewallFacts, FirewallRule, FirewallSource, PortMatch, Verdict};
pub use selinux::{AvcDenial, SelinuxFacts, SelinuxMode};

/// Every policy fact.
#[derive(Debug, Clone, Serialize)]
pub struct PolicyFacts {
    /// SELinux (skipped as not present when disabled).
    pub selinux: Section<SelinuxFacts>,
    /// AppArmor (skipped as not present when not loaded).
    pub apparmor: Section<AppArmorFacts>,
    /// Firewall rules (needs external commands and usually root).
    pub firewall: Section<FirewallFacts>,
    /// Parts that could not be read (audit log, profile list).
    pub gaps: Vec<Skip>,
}

/// How much of the audit log to read from its end.
const AUDIT_TAIL: u64 = 4 * 1024 * 1024;

/// Collect SELinux facts under `root`; `kernel` are kernel log records
/// already read (AVC denials also appear there).
pub fn collect_selinux(
    root: &Root,
    kernel: &[KernelRecord],
    gaps: &mut Vec<Skip>,
) -> Section<SelinuxFacts> {
    let mode = match root.read_string("/sys/fs/selinux/enforce") {
        Ok(t) => selinux::parse_enforce(&t),
        Err(e) => {
            let mut s = Skip::from_read_error("/sys/fs/selinux/enforce", &e);
            if s.why == SkipReason::NotPresent {
                s.detail = "SELinux is disabled or not built in".into();
            }
            return Section::Skipped(s);
        }
    };
    let mut facts = SelinuxFacts {
        mode,
        ..SelinuxFacts::default()
    };
    for b in selinux::HTTPD_BOOLEANS {
        if let Ok(t) = root.read_string(format!("/sys/fs/selinux/booleans/{b}"))
            && let Some(v) = selinux::parse_boolean(&t)
        {
            facts.booleans.insert((*b).to_string(), v);
        }
    }
    let audit = match root.read_tail("/var/log/audit/audit.log", AUDIT_TAIL) {
        Ok(b) => String::from_utf8_lossy(&b).into_owned(),
        Err(e) => {
            gaps.push(Skip::from_read_error("/var/log/audit/audit.log", &e));
            String::new()
        }
    };
    facts.nginx_denials = selinux::nginx_avc_denials(audit.lines(), kernel);
    Section::Found(facts)
}

/// Collect AppArmor facts; `nginx_master` is the pid whose confinement is
/// read.
pub fn collect_apparmor(
    root: &Root,
    kernel: &[KernelRecord],
    nginx_master: Option<u32>,
    gaps: &mut Vec<Skip>,
) -> Section<AppArmorFacts> {
    let enabled = root
        .read_string("/sys/module/apparmor/parameters/enabled")
        .map(|t| t.trim() == "Y")
        .unwrap_or(false);
    if !enabled && root.metadata("/sys/kernel/security/apparmor").is_err() {
        return Section::Skipped(Skip::new(
            "AppArmor",
            SkipReason::NotPresent,
            "AppArmor is not enabled in this kernel",
        ));
    }
    let mut facts = AppArmorFacts::default();
    match root.read_string("/sys/kernel/security/apparmor/profiles") {
        Ok(t) => {
            facts.nginx_profiles = apparmor::parse_profiles(&t)
                .into_iter()
                .filter(|(n, _)| n.contains("nginx"))
                .collect();
        }
        Err(e) => gaps.push(Skip::from_read_error(
            "/sys/kernel/security/apparmor/profiles",
            &e,
        )),
    }
    if let Some(pid) = nginx_master {
        let label = root
            .read_string(format!("/proc/{pid}/attr/apparmor/current"))
            .or_else(|_| root.read_string(format!("/proc/{pid}/attr/current")));
        match label {
            Ok(t) => facts.nginx_confinement = apparmor::parse_label(&t),
            Err(e) => gaps.push(Skip::from_read_error(
                &format!("AppArmor label of pid {pid}"),
                &e,
            )),
        }
    }
    facts.nginx_denials = apparmor::nginx_apparmor_denials(kernel);
    Section::Found(facts)
}

/// Run `nft list ruleset`, `iptables -S` and `ip6tables -S` (those
/// installed) and parse what they print.
pub fn collect_firewall(
    allowed: bool,
    timeout: Duration,
    gaps: &mut Vec<Skip>,
) -> Section<FirewallFacts> {
    if !allowed {
        return Section::Skipped(Skip::new(
            "firewall rules",
            SkipReason::Disabled,
            "external commands are not allowed (nft, iptables)",
        ));
    }
    let tools: [(&str, &[&str], FirewallSource); 3] = [
        ("nft", &["list", "ruleset"], FirewallSource::Nft),
        ("iptables", &["-S"], FirewallSource::Iptables),
        ("ip6tables", &["-S"], FirewallSource::Ip6tables),
    ];
    let mut facts = FirewallFacts::default();
    let mut ran = 0;
    let mut first_skip = None;
    for (name, args, source) in tools {
        let Some(prog) = find_program(name) else {
            continue;
        };
        match run(&prog, args, timeout) {
            Ok(text) => {
                ran += 1;
                facts.extend(match source {
                    FirewallSource::Nft => firewall::parse_nft(&text),
                    s => firewall::parse_iptables_s(&text, s),
                });
            }
            Err(s) => {
                first_skip.get_or_insert_with(|| s.clone());
                gaps.push(s);
            }
        }
    }
    match (ran, first_skip) {
        (0, Some(s)) => Section::Skipped(s),
        (0, None) => Section::Skipped(Skip::new(
            "firewall rules",
            SkipReason::NotPresent,
            "neither nft nor iptables is installed",
        )),
        _ => Section::Found(facts),
    }
}

fn run(prog: &Path, args: &[&str], timeout: Duration) -> Result<String, Skip> {
    let out = run_bounded(prog, args, timeout)?;
    if out.success() {
        Ok(out.stdout)
    } else {
        Err(failure(&out))
    }
}
