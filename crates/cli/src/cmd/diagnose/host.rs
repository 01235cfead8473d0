//! Host facts for the diagnosis: which running nginx to diagnose (the
//! master whose config is the one asked for), and what the host says about
//! its backends — listeners, unix sockets and whether the worker may
//! connect to them, PHP-FPM pools, OOM kills, limits, SELinux, and config
//! files changed since the last reload.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use badgateway_engine::evidence::{HostEvidence, Listener, PathFact, PhpPool, Stale, Upstream};
use badgateway_host::nginx::NginxInstance;
use badgateway_host::phpfpm::FpmListen;
use badgateway_host::users::{Access, Credentials};
use badgateway_host::{CollectOptions, HostFacts};

/// The nginx instance chosen for the diagnosis.
pub struct Target<'a> {
    /// The running master, when one runs this config.
    pub instance: Option<&'a NginxInstance>,
    /// The main config file.
    pub config: PathBuf,
    /// The prefix (`-p`), when known.
    pub prefix: Option<PathBuf>,
    /// The binary's version.
    pub version: Option<String>,
    /// The binary.
    pub binary: Option<PathBuf>,
}

/// Collect host facts, read-only (`nginx -t` only when asked).
pub fn collect(nginx_test: bool) -> HostFacts {
    HostFacts::collect(&CollectOptions {
        run_nginx_test: nginx_test,
        ..CollectOptions::default()
    })
}

/// Choose the nginx to diagnose: the master running `config` when given;
/// else the first running master; else what `nginx -V` names.
pub fn choose<'a>(
    facts: &'a HostFacts,
    config: Option<&Path>,
    prefix: Option<&Path>,
) -> Target<'a> {
    let builds = facts
        .nginx_builds
        .found()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let build_of = |binary: Option<&Path>| {
        builds
            .iter()
            .find(|b| binary.is_none_or(|p| b.path == p))
            .and_then(|b| b.build.found())
    };
    let instance = match config {
        Some(c) => facts.nginx_for_config(c),
        None => facts.nginx_instances().first(),
    };
    let build = build_of(instance.and_then(|i| i.binary.as_deref()));
    let config = config
        .map(Path::to_path_buf)
        .or_else(|| instance.and_then(|i| i.args.config.clone()))
        .or_else(|| build.map(|b| b.conf_path.clone()))
        .unwrap_or_else(|| PathBuf::from("/etc/nginx/nginx.conf"));
    let prefix = prefix
        .map(Path::to_path_buf)
        .or_else(|| instance.and_then(|i| i.args.prefix.clone()))
        .or_else(|| build.map(|b| b.prefix.clone()));
    Target {
        instance,
        config,
        prefix,
        version: build.map(|b| b.version.clone()),
        binary: instance
            .and_then(|i| i.binary.clone())
            .or_else(|| builds.first().map(|b| b.path.clone())),
    }
}

/// The worker's credentials: a running worker's real ids, else the `user`
/// directive's (nginx's default `nobody` when the master runs as root).
pub fn worker_credentials(
    facts: &HostFacts,
    target: &Target<'_>,
    user: Option<&(String, Option<String>)>,
) -> Option<Credentials> {
    if let Some(w) = target.instance.and_then(|i| i.workers.first()) {
        return Some(Credentials {
            uid: w.euid,
            gid: w.egid,
            groups: w.groups.clone(),
        });
    }
    let (u, g) = user.map_or(("nobody", None), |(u, g)| (u.as_str(), g.as_deref()));
    facts.credentials_for(u, g)
}

/// Turn host facts into the engine's evidence for this inventory.
pub fn evidence(
    facts: &HostFacts,
    target: &Target<'_>,
    upstreams: &[Upstream],
    creds: Option<&Credentials>,
    config_files: &[PathBuf],
) -> (HostEvidence, Vec<String>) {
    let mut not_checked = Vec::new();
    let mut h = HostEvidence {
        inspected: facts.net.found().is_some(),
        ..HostEvidence::default()
    };
    match facts.net.found() {
        Some(net) => {
            for l in &net.tcp {
                let owner = l.owners.first();
                h.listeners.push(Listener {
                    address: display_addr(l.addr),
                    process: owner.map(|o| o.comm.clone()),
                    pid: owner.map(|o| o.pid),
                });
            }
            for l in &net.unix {
                let owner = l.owners.first();
                h.listeners.push(Listener {
                    address: format!("unix:{}", l.path),
                    process: owner.map(|o| o.comm.clone()),
                    pid: owner.map(|o| o.pid),
                });
            }
        }
        None => not_checked.push(format!(
            "listening sockets: {}",
            facts
                .net
                .skipped()
                .map_or_else(|| "not read".into(), skip_text)
        )),
    }
    for u in upstreams {
        for p in &u.peers {
            let Some(path) = p.unix_path() else { continue };
            let path = Path::new(path);
            for s in facts.nearby_unix_sockets(path) {
                let s = s.path.display().to_string();
                if !h.socket_files.contains(&s) {
                    h.socket_files.push(s);
                }
            }
            h.paths.push(path_fact(facts, path, creds));
        }
    }
    if let Some(instances) = facts.php_fpm.found() {
        for inst in instances {
            let Some(cfg) = inst.config.found() else {
                continue;
            };
            let log = inst.log.found();
            for pool in &cfg.pools {
                let listen = match &pool.listen {
                    Some(FpmListen::Unix { path }) => path.display().to_string(),
                    Some(FpmListen::Tcp { host, port }) => {
                        format!("{}:{port}", host.as_deref().unwrap_or("0.0.0.0"))
                    }
                    _ => continue,
                };
                let at = pool.settings.get("listen").map_or_else(
                    || format!("{}:{}", pool.file.display(), pool.line),
                    |s| format!("{}:{}", s.file.display(), s.line),
                );
                h.php_pools.push(PhpPool {
                    name: pool.name.clone(),
                    defined_at: at,
                    listen,
                    owner: pool.listen_owner.clone(),
                    group: pool.listen_group.clone(),
                    mode: Some(format!("{:04o}", pool.listen_mode)),
                    max_children: pool
                        .settings
                        .get("pm.max_children")
                        .and_then(|s| s.value.parse().ok()),
                    max_children_reached: log
                        .and_then(|l| l.pools.get(&pool.name))
                        .map_or(0, |s| s.max_children_reached),
                    allowed_clients: pool.allowed_clients.clone(),
                });
            }
        }
    }
    if let Some(oom) = facts.oom.found() {
        for k in &oom.kills {
            h.oom_kills.push((
                k.time.map(format_millis).unwrap_or_default(),
                k.pid,
                k.comm.clone(),
            ));
        }
    }
    if let Some(inst) = target.instance {
        h.worker_nofile = facts
            .nofile_limits(inst.master.pid)
            .iter()
            .filter_map(|(_, _, l)| l.as_ref().and_then(|l| l.soft))
            .min();
        let (start, reload) = facts.master_times(inst.master.pid).unwrap_or((None, None));
        let changed = facts.stale_files(inst.master.pid, config_files);
        let test = facts
            .staleness
            .found()
            .and_then(|all| all.iter().find(|s| s.master_pid == inst.master.pid))
            .and_then(|s| s.nginx_test.found())
            .map(|t| {
                let msg = t.first_error().map_or_else(String::new, |m| {
                    let at = match (&m.file, m.line) {
                        (Some(f), Some(l)) => format!(" in {}:{l}", f.display()),
                        _ => String::new(),
                    };
                    format!("{}{at}", m.text)
                });
                (t.ok, msg)
            });
        if !changed.is_empty() || test.as_ref().is_some_and(|(ok, _)| !ok) {
            h.stale = Some(Stale {
                loaded_at: reload
                    .or(start)
                    .map(format_millis)
                    .unwrap_or_else(|| "?".into()),
                newer_files: changed
                    .iter()
                    .map(|c| c.path.display().to_string())
                    .collect(),
                test,
            });
        }
    }
    if let Some(se) = facts.policy.selinux.found()
        && let Some(mode) = &se.mode
    {
        h.selinux = Some((
            format!("{mode:?}").to_lowercase(),
            se.booleans.get("httpd_can_network_connect").copied(),
        ));
    }
    for gap in &facts.gaps {
        not_checked.push(skip_text(gap));
    }
    (h, not_checked)
}

fn path_fact(facts: &HostFacts, path: &Path, creds: Option<&Credentials>) -> PathFact {
    let chain = facts.stat_chain(path);
    let kind = if chain.missing.is_some() {
        "missing"
    } else if facts.is_socket(path) {
        "socket"
    } else if chain.stopped.is_some() {
        "unreadable"
    } else {
        "file"
    };
    let owner = chain
        .entries
        .last()
        .filter(|_| chain.missing.is_none())
        .map(|s| {
            (
                facts
                    .users
                    .user_by_uid(s.uid)
                    .map_or_else(|| s.uid.to_string(), |u| u.name.clone()),
                facts
                    .users
                    .group_by_gid(s.gid)
                    .map_or_else(|| s.gid.to_string(), |g| g.name.clone()),
                format!("{:04o}", s.mode & 0o7777),
            )
        });
    let worker_may_connect = creds.and_then(|c| match facts.unix_access(c, path) {
        Access::Allowed { .. } => Some((true, String::new())),
        Access::Denied { path, need, .. } => Some((
            false,
            format!("{need:?} permission missing on {}", path.display()).to_lowercase(),
        )),
        _ => None,
    });
    PathFact {
        path: path.display().to_string(),
        kind: kind.into(),
        owner,
        worker_may_connect,
    }
}

fn skip_text(s: &badgateway_host::section::Skip) -> String {
    let why = serde_json::to_value(s.why)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    if s.detail.is_empty() {
        format!("{}: {why}", s.what)
    } else {
        format!("{}: {why} ({})", s.what, s.detail)
    }
}

fn display_addr(a: SocketAddr) -> String {
    a.to_string()
}

/// `YYYY-MM-DD HH:MM:SS UTC` from milliseconds since the epoch.
pub fn format_millis(m: badgateway_host::time::UnixMillis) -> String {
    let secs = m.0.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // civil-from-days (Howard Hinnant's algorithm)
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let mo = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if mo <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{mo:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}
