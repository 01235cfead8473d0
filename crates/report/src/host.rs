//! A plain-text rendering of host facts (`badgateway_host::HostFacts`), for
//! verbose output and debugging: what was found, family by family, and
//! what was skipped and why. Process titles, paths and kernel messages
//! can carry any bytes, so every such value is neutralised.

use std::fmt::Write;

use badgateway_host::section::Skip;
use badgateway_host::users::Access;
use badgateway_host::{HostFacts, Section};

use crate::escape::neutralize_str;

fn n(s: &str) -> String {
    neutralize_str(s).into_owned()
}

fn skipped(out: &mut String, title: &str, s: &Skip) {
    let _ = writeln!(out, "{title}: skipped ({:?}): {}", s.why, n(&s.detail));
}

fn access(a: &Access) -> String {
    match a {
        Access::Allowed { via } => format!("allowed ({via:?})"),
        Access::Denied {
            path, need, stat, ..
        } => format!(
            "DENIED: {need:?} on {} ({}:{} {:04o})",
            n(&path.display().to_string()),
            stat.uid,
            stat.gid,
            stat.mode
        ),
        Access::Missing { path } => format!("missing: {}", n(&path.display().to_string())),
        Access::NotASocket { kind } => format!("not a socket ({kind:?})"),
        Access::Unknown { reason } => format!("unknown: {}", n(&reason.detail)),
    }
}

/// Render host facts as text, one block per family.
pub fn render_host_text(f: &HostFacts) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "host facts ({} processes seen)", f.processes_seen);
    match &f.nginx {
        Section::Skipped(s) => skipped(&mut o, "nginx", s),
        Section::Found(ng) if ng.instances.is_empty() => o.push_str("nginx: no running master\n"),
        Section::Found(ng) => {
            for i in &ng.instances {
                let conf = i.config_path(None).map(|p| p.display().to_string());
                let _ = writeln!(
                    o,
                    "nginx master {} ({}) config {} started {} last reload ~{}; {} workers as {}",
                    i.master.pid,
                    n(&i.binary
                        .as_ref()
                        .map(|b| b.display().to_string())
                        .unwrap_or_default()),
                    n(conf.as_deref().unwrap_or("?")),
                    i.master_start().map(|t| t.to_string()).unwrap_or_default(),
                    i.last_reload_estimate()
                        .map(|t| t.to_string())
                        .unwrap_or_default(),
                    i.workers.len(),
                    i.workers
                        .first()
                        .and_then(|w| w.user.clone())
                        .unwrap_or_else(|| "?".into()),
                );
                for (pid, role, lim) in i.nofile_limits() {
                    if let Some(l) = lim {
                        let _ = writeln!(
                            o,
                            "  pid {pid} {role:?}: nofile soft {:?} hard {:?}",
                            l.soft, l.hard
                        );
                    }
                }
            }
            if !ng.orphans.is_empty() {
                let _ = writeln!(
                    o,
                    "nginx: {} orphaned workers (master gone)",
                    ng.orphans.len()
                );
            }
        }
    }
    match &f.net {
        Section::Skipped(s) => skipped(&mut o, "sockets", s),
        Section::Found(net) => {
            let _ = writeln!(o, "listeners (from {}):", net.source.display());
            for l in &net.tcp {
                let owners: Vec<String> = l
                    .owners
                    .iter()
                    .map(|w| format!("{}/{}", w.pid, n(&w.comm)))
                    .collect();
                let _ = writeln!(
                    o,
                    "  tcp  {} queue {}/{} {}",
                    l.addr,
                    l.accept_queue,
                    l.backlog.map_or("?".into(), |b| b.to_string()),
                    owners.join(",")
                );
            }
            for u in &net.unix {
                let owners: Vec<String> = u
                    .owners
                    .iter()
                    .map(|w| format!("{}/{}", w.pid, n(&w.comm)))
                    .collect();
                let _ = writeln!(o, "  unix {} {}", n(&u.path), owners.join(","));
            }
            for s in &net.gaps {
                skipped(&mut o, "  gap", s);
            }
        }
    }
    match &f.php_fpm {
        Section::Skipped(s) => skipped(&mut o, "php-fpm", s),
        Section::Found(list) => {
            for i in list {
                let _ = writeln!(
                    o,
                    "php-fpm {} master {}",
                    n(&i.config_path.display().to_string()),
                    i.master_pid.map_or("not running".into(), |p| p.to_string())
                );
                for s in &i.sockets {
                    let _ = writeln!(
                        o,
                        "  pool {} {} listening {:?}",
                        n(&s.pool),
                        n(&s.path.display().to_string()),
                        s.listening
                    );
                    for a in &s.nginx_access {
                        let _ = writeln!(
                            o,
                            "    nginx {} as {}: {}",
                            a.nginx_master,
                            n(&a.user),
                            access(&a.access)
                        );
                    }
                }
                if let Some(log) = i.log.found() {
                    for (pool, st) in &log.pools {
                        let _ = writeln!(
                            o,
                            "  log pool {}: max_children reached {}x, timeouts {}, signaled {}",
                            n(pool),
                            st.max_children_reached,
                            st.timeouts,
                            st.signaled
                        );
                    }
                }
            }
        }
    }
    match &f.oom {
        Section::Skipped(s) => skipped(&mut o, "oom kills", s),
        Section::Found(oom) => {
            let _ = writeln!(o, "oom kills: {} (from {})", oom.kills.len(), oom.source);
            for k in &oom.kills {
                let _ = writeln!(
                    o,
                    "  {} pid {} ({}) anon-rss {:?} kB{}",
                    k.time.map(|t| t.to_string()).unwrap_or_default(),
                    k.pid,
                    n(&k.comm),
                    k.anon_rss_kb,
                    if k.cgroup_limit {
                        " [cgroup limit]"
                    } else {
                        ""
                    }
                );
            }
        }
    }
    for (title, sec) in [
        ("selinux", f.policy.selinux.skipped()),
        ("apparmor", f.policy.apparmor.skipped()),
        ("firewall", f.policy.firewall.skipped()),
    ] {
        if let Some(s) = sec {
            skipped(&mut o, title, s);
        }
    }
    if let Some(se) = f.policy.selinux.found() {
        let _ = writeln!(
            o,
            "selinux {:?}, httpd_can_network_connect {:?}, {} nginx denials",
            se.mode,
            se.httpd_can_network_connect(),
            se.nginx_denials.len()
        );
    }
    match &f.staleness {
        Section::Skipped(s) => skipped(&mut o, "stale config", s),
        Section::Found(list) => {
            for s in list {
                let _ = writeln!(
                    o,
                    "config of master {}: {} of {} files changed after the last reload",
                    s.master_pid,
                    s.changed_after_reload.len(),
                    s.checked
                );
                for c in &s.changed_after_reload {
                    let _ = writeln!(
                        o,
                        "  {} changed {}",
                        n(&c.path.display().to_string()),
                        c.changed
                    );
                }
                if let Some(t) = s.nginx_test.found() {
                    let _ = writeln!(o, "  nginx -t: {}", if t.ok { "ok" } else { "FAILED" });
                }
            }
        }
    }
    for g in &f.gaps {
        skipped(&mut o, "gap", g);
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use badgateway_host::CollectOptions;

    #[test]
    fn renders_the_captured_tree_and_neutralises() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../host/testdata/root");
        let facts = HostFacts::collect(&CollectOptions {
            root,
            ..CollectOptions::default()
        });
        let text = render_host_text(&facts);
        assert!(text.contains("nginx master "), "{text}");
        assert!(text.contains("2 workers as nobody"), "{text}");
        assert!(text.contains("unix /tmp/bgw-capture-"), "{text}");
        assert!(text.contains("oom kills: 2 (from /dev/kmsg)"), "{text}");
        assert!(text.contains("max_children reached 1x"), "{text}");
        assert!(text.contains("firewall: skipped (Disabled)"), "{text}");
        assert!(!text.contains('\x1b'));
        assert_eq!(n("a\x1b[31mb"), "a\\x1b[31mb");
    }
}
