//! The entry point: [`HostFacts::collect`] reads everything this crate
//! knows how to read, each family independently, and never fails as a
//! whole. What could not be collected is a [`Section::Skipped`] saying
//! why.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use crate::backends::{
    BackendProcess, BindProtocol, DeclaredBind, env_bind, find_backends, uwsgi_ini_binds,
};
use crate::command::{failure, find_program, run_bounded};
use crate::kernlog::{KernelRecord, parse_journal_short_unix, parse_kmsg, read_kmsg};
use crate::net::{self, ListenCounters, NetFacts, SockStat, parse_netstat, parse_sockstat};
use crate::nginx::{NginxBuild, NginxProcesses, group_nginx, parse_nginx_v};
use crate::oom::{OomKill, find_oom_kills};
use crate::phpfpm::instance::{NginxClients, process_credentials};
use crate::phpfpm::{FpmInstance, collect_fpm};
use crate::policy::{PolicyFacts, collect_apparmor, collect_firewall, collect_selinux};
use crate::proc::{Process, list_pids, read_process};
use crate::reader::Root;
use crate::resources::{Resources, collect_resources};
use crate::section::{Section, Skip, SkipReason};
use crate::staleness::{Staleness, TOLERANCE_MS, changed_after, file_change, parse_nginx_t};
use crate::time::{Clock, UnixMillis, parse_auxv_clock_ticks, parse_btime};
use crate::users::UserDb;

/// What to collect and how.
#[derive(Debug, Clone)]
pub struct CollectOptions {
    /// The directory that plays `/` (default `/`). With any other root,
    /// external commands, socket diagnostics and the live kernel log are
    /// not used: they would describe this host, not the tree.
    pub root: PathBuf,
    /// The nginx binary for `nginx -V` when no running master names one.
    pub nginx_binary: Option<PathBuf>,
    /// Allow read-only external commands: `nginx -V`, `journalctl -k`,
    /// `nft list ruleset`, `iptables -S`, `ip6tables -S` (default on).
    pub run_commands: bool,
    /// Also run `nginx -t` against each running master's config (default
    /// off). It is read-only for the config, but nginx opens every log
    /// file the config names for appending and creates those that are
    /// missing (and may create missing temp directories), as a reload
    /// would. Needs `run_commands`.
    pub run_nginx_test: bool,
    /// Bound on each external command (default 3 s).
    pub command_timeout: Duration,
    /// Config files to check for staleness (the loaded tree, main file
    /// first), applied to every master. Empty: only each master's main
    /// config file. With several masters, ask
    /// [`HostFacts::stale_files`] per master instead.
    pub config_files: Vec<PathBuf>,
    /// PHP-FPM main config files to read besides those of running masters
    /// and the usual locations.
    pub php_fpm_configs: Vec<PathBuf>,
    /// How much of a log (PHP-FPM, audit) to read, from its end (default
    /// 4 MiB).
    pub log_tail_bytes: u64,
}

impl Default for CollectOptions {
    fn default() -> Self {
        CollectOptions {
            root: PathBuf::from("/"),
            nginx_binary: None,
            run_commands: true,
            run_nginx_test: false,
            command_timeout: Duration::from_secs(3),
            config_files: Vec::new(),
            php_fpm_configs: Vec::new(),
            log_tail_bytes: 4 * 1024 * 1024,
        }
    }
}

/// `nginx -V` of one binary.
#[derive(Debug, Clone, Serialize)]
pub struct NginxBinary {
    /// The binary.
    pub path: PathBuf,
    /// What it said.
    pub build: Section<NginxBuild>,
}

/// OOM kills and where they were read.
#[derive(Debug, Clone, Serialize)]
pub struct OomFacts {
    /// `/dev/kmsg` or `journalctl -k`.
    pub source: String,
    /// Kernel records read.
    pub records: usize,
    /// Kills, oldest first.
    pub kills: Vec<OomKill>,
}

/// Everything known about the host, family by family.
#[derive(Debug, Clone, Serialize)]
pub struct HostFacts {
    /// The root inspected.
    pub root: PathBuf,
    /// When collection started.
    pub collected_at: UnixMillis,
    /// Boot time and tick rate (for process start times).
    pub clock: Section<Clock>,
    /// Processes examined.
    pub processes_seen: usize,
    /// Running nginx masters, workers, orphans.
    pub nginx: Section<NginxProcesses>,
    /// `nginx -V` for each distinct binary.
    pub nginx_builds: Section<Vec<NginxBinary>>,
    /// Listeners, owners and outgoing connections (nginx's network
    /// namespace when found).
    pub net: Section<NetFacts>,
    /// Listen-queue overflow counters since boot.
    pub listen_counters: Section<ListenCounters>,
    /// Socket counts (TIME_WAIT).
    pub sockstat: Section<SockStat>,
    /// PHP-FPM configs, pools, sockets and logs.
    pub php_fpm: Section<Vec<FpmInstance>>,
    /// Other application servers and their binds.
    pub backends: Section<Vec<BackendProcess>>,
    /// Memory, pressure, file table, port range, somaxconn.
    pub resources: Resources,
    /// OOM kills from the kernel log.
    pub oom: Section<OomFacts>,
    /// SELinux, AppArmor, firewall.
    pub policy: PolicyFacts,
    /// Config changed after the last reload, `nginx -t` now; one per
    /// master.
    pub staleness: Section<Vec<Staleness>>,
    /// Other gaps (password database, socket diagnostics).
    pub gaps: Vec<Skip>,
    /// The password and group databases (for permission questions about
    /// users that are not running).
    #[serde(skip)]
    pub users: UserDb,
}

fn clock(root: &Root) -> Result<Clock, Skip> {
    let boot_time = root
        .parse("/proc/stat", parse_btime)
        .map_err(|e| Skip::from_read_error("/proc/stat", &e))?;
    // The tick rate belongs to the running kernel, so it is read from this
    // process even for a fixture root.
    let ticks_per_sec = std::fs::read("/proc/self/auxv")
        .ok()
        .and_then(|a| parse_auxv_clock_ticks(&a))
        .unwrap_or(100);
    Ok(Clock {
        boot_time,
        ticks_per_sec,
    })
}

fn strip_deleted(p: &Path) -> PathBuf {
    let s = p.display().to_string();
    PathBuf::from(s.strip_suffix(" (deleted)").unwrap_or(&s))
}

impl HostFacts {
    /// Collect every family of facts. Never panics on the host's content
    /// and never fails as a whole.
    pub fn collect(opts: &CollectOptions) -> HostFacts {
        let root = Root::new(&opts.root);
        let live = root.is_system();
        let commands = opts.run_commands && live;
        let mut gaps = Vec::new();
        let collected_at = UnixMillis::now();
        let clock = clock(&root);
        let (users, user_gaps) = UserDb::read(&root);
        gaps.extend(user_gaps);

        // Processes.
        let pids = list_pids(&root);
        let mut processes: Vec<Process> = match &pids {
            Ok(pids) => pids
                .iter()
                .filter_map(|&pid| read_process(&root, pid, clock.as_ref().ok()).ok())
                .collect(),
            Err(_) => Vec::new(),
        };
        for p in &mut processes {
            p.user = users.user_by_uid(p.euid).map(|u| u.name.clone());
        }
        let mut nginx = group_nginx(&processes);
        for inst in &mut nginx.instances {
            inst.master.read_fd_facts(&root);
            for w in &mut inst.workers {
                w.read_fd_facts(&root);
            }
        }
        let nginx_section = match &pids {
            Err(e) => Section::Skipped(proc_skip(e)),
            Ok(_) => Section::Found(nginx.clone()),
        };

        // Sockets, from nginx's namespace when there is a master.
        let pid_comms: Vec<(u32, String)> =
            processes.iter().map(|p| (p.pid, p.comm.clone())).collect();
        let net_dir = nginx
            .instances
            .first()
            .map(|i| PathBuf::from(format!("/proc/{}/net", i.master.pid)))
            .filter(|d| root.metadata(d.join("tcp")).is_ok())
            .unwrap_or_else(|| PathBuf::from("/proc/net"));
        let mut net_facts = net::collect_net(&root, &net_dir, &pid_comms);
        if live && let Ok(n) = &mut net_facts {
            match net::diag::listen_queues() {
                Ok(q) => {
                    for l in &mut n.tcp {
                        if let Some(d) = q.get(&l.inode) {
                            l.backlog = Some(d.backlog);
                            l.v6only = d.v6only;
                        }
                    }
                    for u in &mut n.unix {
                        if let Some(d) = q.get(&u.inode) {
                            u.accept_queue = Some(d.queued);
                            u.backlog = Some(d.backlog);
                        }
                    }
                }
                Err(e) => n.gaps.push(Skip::new(
                    "socket diagnostics",
                    SkipReason::IoError,
                    e.to_string(),
                )),
            }
        }
        let net_section = Section::from_result("socket tables", net_facts);
        let listen_counters = Section::from_result(
            "netstat",
            root.parse(net_dir.join("netstat"), parse_netstat)
                .map(|c| ListenCounters::from_counters(&c)),
        );
        let sockstat = Section::from_result(
            "sockstat",
            root.parse(net_dir.join("sockstat"), parse_sockstat),
        );

        // Who nginx's workers are, for socket permission verdicts.
        let clients: NginxClients = nginx
            .instances
            .iter()
            .map(|i| {
                let w = i.workers.first().unwrap_or(&i.master);
                let user = w.user.clone().unwrap_or_else(|| w.euid.to_string());
                (i.master.pid, user, process_credentials(w))
            })
            .collect();
        let php_fpm = collect_fpm(
            &root,
            &processes,
            &opts.php_fpm_configs,
            net_section.found(),
            &clients,
            opts.log_tail_bytes,
        );
        let backends = match &pids {
            Err(e) => Section::Skipped(proc_skip(e)),
            Ok(_) => Section::Found(backends(&root, &processes, net_section.found())),
        };

        // nginx -V for each binary.
        let nginx_builds = builds(&nginx, opts, commands);

        // Kernel log: /dev/kmsg, else journalctl -k.
        let (kernel, oom) = kernel_log(
            &root,
            live,
            commands,
            opts.command_timeout,
            clock.as_ref().ok(),
        );
        let master_pid = nginx.instances.first().map(|i| i.master.pid);
        let mut policy_gaps = Vec::new();
        let policy = PolicyFacts {
            selinux: collect_selinux(&root, &kernel, &mut policy_gaps),
            apparmor: collect_apparmor(&root, &kernel, master_pid, &mut policy_gaps),
            firewall: collect_firewall(commands, opts.command_timeout, &mut policy_gaps),
            gaps: policy_gaps,
        };
        let staleness = staleness(&root, &nginx, nginx_builds.found(), opts, live);

        HostFacts {
            root: opts.root.clone(),
            collected_at,
            clock: match clock {
                Ok(c) => Section::Found(c),
                Err(s) => Section::Skipped(s),
            },
            processes_seen: processes.len(),
            nginx: nginx_section,
            nginx_builds,
            net: net_section,
            listen_counters,
            sockstat,
            php_fpm,
            backends,
            resources: collect_resources(&root),
            oom,
            policy,
            staleness,
            gaps,
            users,
        }
    }
}

fn proc_skip(e: &crate::error::ReadError) -> Skip {
    let mut s = Skip::from_read_error("/proc", e);
    if s.why == SkipReason::NotPresent {
        s.why = SkipReason::NotLinux;
        s.detail = format!("no /proc under the root ({e})");
    }
    s
}

fn backends(root: &Root, processes: &[Process], net: Option<&NetFacts>) -> Vec<BackendProcess> {
    let mut list = find_backends(processes);
    for b in &mut list {
        if let Some(ini) = &b.ini_file
            && let Ok(text) = root.read_string(ini)
        {
            b.binds
                .extend(uwsgi_ini_binds(&text, &ini.display().to_string()));
        }
        if b.binds.is_empty()
            && let Ok(env) = root.read(format!("/proc/{}/environ", b.pid))
            && let Some(raw) = env_bind(&env)
        {
            b.binds.push(DeclaredBind {
                bind: crate::backends::parse_bind(&raw),
                raw,
                protocol: BindProtocol::Http,
                source: "env:PORT".into(),
            });
        }
        let family: BTreeSet<u32> = std::iter::once(b.pid)
            .chain(processes.iter().filter(|p| p.ppid == b.pid).map(|p| p.pid))
            .collect();
        if let Some(n) = net {
            let held = |owners: &[net::SocketOwner]| owners.iter().any(|o| family.contains(&o.pid));
            b.listening.extend(
                n.tcp
                    .iter()
                    .filter(|l| held(&l.owners))
                    .map(|l| l.addr.to_string()),
            );
            b.listening.extend(
                n.unix
                    .iter()
                    .filter(|l| held(&l.owners))
                    .map(|l| format!("unix:{}", l.path)),
            );
        }
    }
    list
}

fn builds(
    nginx: &NginxProcesses,
    opts: &CollectOptions,
    commands: bool,
) -> Section<Vec<NginxBinary>> {
    if !commands {
        return Section::Skipped(Skip::new(
            "nginx -V",
            SkipReason::Disabled,
            "external commands are not allowed here",
        ));
    }
    let mut bins: Vec<PathBuf> = Vec::new();
    for i in &nginx.instances {
        let b = i.binary.as_deref().map(strip_deleted);
        if let Some(b) = b.filter(|b| b.is_file())
            && !bins.contains(&b)
        {
            bins.push(b);
        }
    }
    if let Some(b) = &opts.nginx_binary
        && !bins.contains(b)
    {
        bins.push(b.clone());
    }
    if bins.is_empty()
        && let Some(b) = find_program("nginx")
    {
        bins.push(b);
    }
    if bins.is_empty() {
        return Section::Skipped(Skip::new(
            "nginx -V",
            SkipReason::NotPresent,
            "no nginx binary found",
        ));
    }
    Section::Found(
        bins.into_iter()
            .map(|path| {
                let build = match run_bounded(&path, &["-V"], opts.command_timeout) {
                    Err(s) => Section::Skipped(s),
                    Ok(out) => match parse_nginx_v(&out.stderr) {
                        Ok(b) => Section::Found(b),
                        Err(_) if !out.success() => Section::Skipped(failure(&out)),
                        Err(e) => Section::Skipped(Skip::new(
                            out.command,
                            SkipReason::Unparseable,
                            e.to_string(),
                        )),
                    },
                };
                NginxBinary { path, build }
            })
            .collect(),
    )
}

fn kernel_log(
    root: &Root,
    live: bool,
    commands: bool,
    timeout: Duration,
    clock: Option<&Clock>,
) -> (Vec<KernelRecord>, Section<OomFacts>) {
    const MAX_RECORDS: usize = 200_000;
    let kmsg = read_kmsg(root, MAX_RECORDS);
    let (records, source) = match kmsg {
        Ok(text) => (parse_kmsg(&text), "/dev/kmsg".to_string()),
        Err(e) => {
            let skip = Skip::from_read_error("/dev/kmsg", &e);
            let journal = commands
                .then(|| find_program("journalctl"))
                .flatten()
                .map(|j| {
                    run_bounded(
                        &j,
                        &["-k", "-o", "short-unix", "--no-pager", "-q", "-n", "50000"],
                        timeout,
                    )
                });
            match journal {
                Some(Ok(out)) if out.success() => (
                    parse_journal_short_unix(&out.stdout),
                    "journalctl -k".to_string(),
                ),
                Some(Ok(out)) => {
                    let mut s = failure(&out);
                    s.detail = format!("{}; /dev/kmsg: {}", s.detail, skip.detail);
                    return (Vec::new(), Section::Skipped(s));
                }
                Some(Err(s)) => return (Vec::new(), Section::Skipped(s)),
                None if !live && skip.why == SkipReason::NotPresent => {
                    return (
                        Vec::new(),
                        Section::Skipped(Skip::new(
                            "kernel log",
                            SkipReason::NotPresent,
                            "no dev/kmsg under the root",
                        )),
                    );
                }
                None => return (Vec::new(), Section::Skipped(skip)),
            }
        }
    };
    let kills = find_oom_kills(&records, clock);
    let facts = OomFacts {
        source,
        records: records.len(),
        kills,
    };
    (records, Section::Found(facts))
}

fn staleness(
    root: &Root,
    nginx: &NginxProcesses,
    builds: Option<&Vec<NginxBinary>>,
    opts: &CollectOptions,
    live: bool,
) -> Section<Vec<Staleness>> {
    if nginx.instances.is_empty() {
        return Section::Skipped(Skip::new(
            "stale config",
            SkipReason::NotApplicable,
            "no running nginx master",
        ));
    }
    let mut out = Vec::new();
    for inst in &nginx.instances {
        let binary = inst.binary.as_deref().map(strip_deleted);
        let build = builds.and_then(|bs| {
            bs.iter()
                .find(|b| Some(&b.path) == binary.as_ref())
                .and_then(|b| b.build.found())
        });
        let main = inst.config_path(build);
        let files: Vec<PathBuf> = if opts.config_files.is_empty() {
            main.iter().cloned().collect()
        } else {
            opts.config_files.clone()
        };
        let mut changes = Vec::new();
        let mut unreadable = Vec::new();
        for f in &files {
            match file_change(root, f) {
                Ok(c) => changes.push(c),
                Err(s) => unreadable.push(s),
            }
        }
        let reload = inst.last_reload_estimate();
        let nginx_test = if !(opts.run_nginx_test && opts.run_commands && live) {
            Section::Skipped(Skip::new(
                "nginx -t",
                SkipReason::Disabled,
                "not requested (it may create missing log files)",
            ))
        } else {
            match &binary {
                None => Section::Skipped(Skip::new(
                    "nginx -t",
                    SkipReason::NotPresent,
                    "the master's binary is unknown",
                )),
                Some(bin) => nginx_test(bin, inst, main.as_deref(), opts.command_timeout),
            }
        };
        out.push(Staleness {
            master_pid: inst.master.pid,
            master_start: inst.master_start(),
            last_reload_estimate: reload,
            checked: files.len(),
            changed_after_reload: reload
                .map(|r| changed_after(&changes, r, TOLERANCE_MS))
                .unwrap_or_default(),
            unreadable,
            nginx_test,
        });
    }
    Section::Found(out)
}

fn nginx_test(
    bin: &Path,
    inst: &crate::nginx::NginxInstance,
    main: Option<&Path>,
    timeout: Duration,
) -> Section<crate::staleness::NginxTest> {
    let mut args: Vec<String> = vec!["-t".into()];
    if let Some(p) = &inst.args.prefix {
        args.extend(["-p".into(), p.display().to_string()]);
    }
    if let Some(c) = main {
        args.extend(["-c".into(), c.display().to_string()]);
    }
    if let Some(e) = &inst.args.error_log {
        args.extend(["-e".into(), e.display().to_string()]);
    }
    for g in &inst.args.directives {
        args.extend(["-g".into(), g.clone()]);
    }
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    match run_bounded(bin, &refs, timeout) {
        Err(s) => Section::Skipped(s),
        Ok(out) => match parse_nginx_t(&out.stderr, out.status) {
            Ok(t) => Section::Found(t),
            Err(e) => Section::Skipped(Skip::new(
                out.command,
                SkipReason::Unparseable,
                e.to_string(),
            )),
        },
    }
}
