//! OOM kills from kernel log records: which process was killed, when, how
//! big it was, which cgroup it was in and who triggered it. A killed
//! backend worker is the usual story behind a burst of `upstream
//! prematurely closed connection`.

use serde::Serialize;

use crate::kernlog::{KernelRecord, KernelTime};
use crate::time::{Clock, UnixMillis};

/// One OOM kill.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OomKill {
    /// When (wall clock, when it could be derived).
    pub time: Option<UnixMillis>,
    /// The raw record time.
    pub kernel_time: KernelTime,
    /// The victim's pid.
    pub pid: u32,
    /// The victim's `comm` (`php-fpm8.2`).
    pub comm: String,
    /// The victim's uid (kernels 5.x+ print it).
    pub uid: Option<u32>,
    /// Anonymous resident memory at the kill, kB.
    pub anon_rss_kb: Option<u64>,
    /// Virtual size, kB.
    pub total_vm_kb: Option<u64>,
    /// Whether a memory cgroup's limit (not the whole machine) ran out.
    pub cgroup_limit: bool,
    /// The victim's memory cgroup (`/system.slice/php8.2-fpm.service`).
    pub task_memcg: Option<String>,
    /// `CONSTRAINT_NONE`, `CONSTRAINT_MEMCG`, …
    pub constraint: Option<String>,
    /// The process whose allocation invoked the killer.
    pub trigger: Option<String>,
    /// The kill line as logged.
    pub text: String,
}

/// Find OOM kills in kernel records (oldest first).
pub fn find_oom_kills(records: &[KernelRecord], clock: Option<&Clock>) -> Vec<OomKill> {
    let mut out = Vec::new();
    let mut trigger: Option<String> = None;
    let mut detail: Option<(u32, Option<String>, Option<String>)> = None;
    for r in records {
        let t = r.text.as_str();
        if let Some((comm, _)) = t.split_once(" invoked oom-killer:") {
            trigger = Some(comm.trim().to_string());
            continue;
        }
        if let Some(kv) = t.strip_prefix("oom-kill:") {
            let field = |k: &str| {
                kv.split(',')
                    .find_map(|p| p.strip_prefix(k)?.strip_prefix('='))
                    .map(str::to_string)
            };
            if let Some(pid) = field("pid").and_then(|p| p.parse().ok()) {
                detail = Some((pid, field("task_memcg"), field("constraint")));
            }
            continue;
        }
        let Some(idx) = t.find("Killed process ") else {
            continue;
        };
        let rest = &t[idx + "Killed process ".len()..];
        let Some((pid, rest)) = rest.split_once(" (") else {
            continue;
        };
        let Ok(pid) = pid.parse::<u32>() else {
            continue;
        };
        let Some((comm, rest)) = rest.rsplit_once(')') else {
            continue;
        };
        let kb = |key: &str| {
            rest.split_once(key)
                .and_then(|(_, v)| v.split("kB").next())
                .and_then(|v| v.trim().parse().ok())
        };
        let (memcg, constraint) = match detail.take() {
            Some((p, m, c)) if p == pid => (m, c),
            _ => (None, None),
        };
        out.push(OomKill {
            time: r.time.wall(clock),
            kernel_time: r.time,
            pid,
            comm: comm.to_string(),
            uid: rest
                .split_once("UID:")
                .and_then(|(_, v)| v.split_whitespace().next())
                .and_then(|v| v.parse().ok()),
            anon_rss_kb: kb("anon-rss:"),
            total_vm_kb: kb("total-vm:"),
            cgroup_limit: t.starts_with("Memory cgroup out of memory")
                || constraint.as_deref() == Some("CONSTRAINT_MEMCG"),
            task_memcg: memcg,
            constraint,
            trigger: trigger.take(),
            text: t.to_string(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernlog::parse_kmsg;

    #[test]
    fn modern_and_cgroup_kills() {
        let t = "4,900,7000000,-;php-fpm8.2 invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0\n\
6,901,7000100,-;oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=/system.slice/php8.2-fpm.service,task_memcg=/system.slice/php8.2-fpm.service,task=php-fpm8.2,pid=4242,uid=33\n\
3,902,7000200,-;Memory cgroup out of memory: Killed process 4242 (php-fpm8.2) total-vm:524288kB, anon-rss:262144kB, file-rss:1024kB, shmem-rss:0kB, UID:33 pgtables:1024kB oom_score_adj:0\n\
3,903,9000000,-;Out of memory: Killed process 77 (gunicorn) total-vm:100kB, anon-rss:50kB, file-rss:0kB, shmem-rss:0kB, UID:1000 pgtables:8kB oom_score_adj:0\n";
        let c = Clock {
            boot_time: 1_000,
            ticks_per_sec: 100,
        };
        let k = find_oom_kills(&parse_kmsg(t), Some(&c));
        assert_eq!(k.len(), 2);
        assert_eq!(k[0].pid, 4242);
        assert_eq!(k[0].comm, "php-fpm8.2");
        assert_eq!(k[0].uid, Some(33));
        assert_eq!(k[0].anon_rss_kb, Some(262_144));
        assert!(k[0].cgroup_limit);
        assert_eq!(
            k[0].task_memcg.as_deref(),
            Some("/system.slice/php8.2-fpm.service")
        );
        assert_eq!(k[0].trigger.as_deref(), Some("php-fpm8.2"));
        assert_eq!(k[0].time, Some(UnixMillis(1_007_000)));
        assert!(!k[1].cgroup_limit);
        assert_eq!(k[1].trigger, None);
        assert_eq!(k[1].comm, "gunicorn");
    }

    #[test]
    fn old_two_line_form() {
        let t = "3,1,5,-;Out of memory: Kill process 1234 (mysqld) score 912 or sacrifice child\n\
3,2,6,-;Killed process 1234 (mysqld) total-vm:2000kB, anon-rss:1000kB, file-rss:0kB\n";
        let k = find_oom_kills(&parse_kmsg(t), None);
        assert_eq!(k.len(), 1);
        assert_eq!(k[0].comm, "mysqld");
        assert_eq!(k[0].total_vm_kb, Some(2000));
        assert_eq!(k[0].time, None);
    }
}
