//! Running PHP-FPM instances: each config file found (from a master's
//! title, the caller, or the usual Debian/RHEL locations) with its pools,
//! workers, log summary, and for every unix `listen` socket the stat chain
//! and whether each nginx's workers may connect to it.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

use super::{
    FpmConfig, FpmListen, FpmLogSummary, master_config_path, read_fpm_config, worker_pool,
};
use super::{parse_fpm_log, summarize_fpm_log};
use crate::net::NetFacts;
use crate::proc::Process;
use crate::reader::Root;
use crate::section::{Section, Skip, SkipReason};
use crate::time::UnixMillis;
use crate::users::{Access, Credentials, StatChain, stat_chain, unix_connect_access};

/// Where PHP-FPM configs usually are, when no master names its own.
pub const DEFAULT_FPM_CONFIGS: &[&str] = &[
    "/etc/php/*/fpm/php-fpm.conf",
    "/etc/php-fpm.conf",
    "/etc/opt/remi/php*/php-fpm.conf",
    "/usr/local/etc/php-fpm.conf",
];

/// Whether a process (with given credentials) may connect to a socket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClientAccess {
    /// Who asks: the nginx master whose workers connect.
    pub nginx_master: u32,
    /// The workers' user name (or uid).
    pub user: String,
    /// Their credentials.
    pub credentials: Credentials,
    /// The verdict.
    pub access: Access,
}

/// A pool's unix listen socket as it is on disk and in the kernel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FpmSocket {
    /// The pool.
    pub pool: String,
    /// The configured path.
    pub path: PathBuf,
    /// Owner, group and mode of the socket and every directory above it.
    pub chain: StatChain,
    /// Whether a listening socket is bound at that path
    /// (`/proc/net/unix`); `None` when the socket table was not read.
    pub listening: Option<bool>,
    /// Connections waiting to be accepted (socket diagnostics).
    pub accept_queue: Option<u32>,
    /// The accept queue's limit (socket diagnostics).
    pub backlog: Option<u32>,
    /// Whether each running nginx's workers may connect.
    pub nginx_access: Vec<ClientAccess>,
}

/// One PHP-FPM configuration and what runs from it.
#[derive(Debug, Clone, Serialize)]
pub struct FpmInstance {
    /// The main config file.
    pub config_path: PathBuf,
    /// The master running this config, if any.
    pub master_pid: Option<u32>,
    /// When that master started.
    pub master_started: Option<UnixMillis>,
    /// Workers per pool (from `php-fpm: pool NAME` titles).
    pub workers: BTreeMap<String, usize>,
    /// The configuration.
    pub config: Section<FpmConfig>,
    /// The error log path used.
    pub log_path: Option<PathBuf>,
    /// What the log says.
    pub log: Section<FpmLogSummary>,
    /// Every pool's unix socket.
    pub sockets: Vec<FpmSocket>,
}

/// The nginx workers that would connect to a backend: (master pid, user,
/// credentials).
pub type NginxClients = Vec<(u32, String, Credentials)>;

/// Credentials of a running process (effective ids and groups).
pub fn process_credentials(p: &Process) -> Credentials {
    Credentials {
        uid: p.euid,
        gid: p.egid,
        groups: p.groups.clone(),
    }
}

/// Find and read every PHP-FPM instance.
pub fn collect_fpm(
    root: &Root,
    processes: &[Process],
    extra_configs: &[PathBuf],
    net: Option<&NetFacts>,
    clients: &NginxClients,
    log_tail: u64,
) -> Section<Vec<FpmInstance>> {
    let masters: Vec<(&Process, PathBuf)> = processes
        .iter()
        .filter_map(|p| master_config_path(p).map(|c| (p, c)))
        .collect();
    let mut paths: Vec<PathBuf> = masters.iter().map(|(_, c)| c.clone()).collect();
    paths.extend(extra_configs.iter().cloned());
    for pat in DEFAULT_FPM_CONFIGS {
        paths.extend(root.glob(pat));
    }
    let mut seen = Vec::new();
    paths.retain(|p| {
        let new = !seen.contains(p);
        seen.push(p.clone());
        new
    });
    if paths.is_empty() {
        return Section::Skipped(Skip::new(
            "PHP-FPM",
            SkipReason::NotPresent,
            "no php-fpm master running and no php-fpm.conf in the usual places",
        ));
    }
    let out = paths
        .into_iter()
        .map(|path| {
            let master = masters.iter().find(|(_, c)| *c == path).map(|(p, _)| *p);
            instance(root, processes, path, master, net, clients, log_tail)
        })
        .collect();
    Section::Found(out)
}

fn instance(
    root: &Root,
    processes: &[Process],
    config_path: PathBuf,
    master: Option<&Process>,
    net: Option<&NetFacts>,
    clients: &NginxClients,
    log_tail: u64,
) -> FpmInstance {
    let mut workers = BTreeMap::new();
    if let Some(m) = master {
        for p in processes.iter().filter(|p| p.ppid == m.pid) {
            if let Some(pool) = worker_pool(p) {
                *workers.entry(pool.to_string()).or_insert(0) += 1;
            }
        }
    }
    let config = Section::from_result(
        &config_path.display().to_string(),
        read_fpm_config(root, &config_path, None),
    );
    let log_path = config.found().and_then(|c| c.error_log(None));
    let log = match &log_path {
        None => Section::Skipped(Skip::new(
            "PHP-FPM log",
            SkipReason::NotApplicable,
            "error_log goes to syslog, or the config was not read",
        )),
        Some(p) => Section::from_result(
            &p.display().to_string(),
            root.read_tail(p, log_tail)
                .map(|b| summarize_fpm_log(&parse_fpm_log(&String::from_utf8_lossy(&b)))),
        ),
    };
    let sockets = config
        .found()
        .map(|c| sockets(root, c, net, clients))
        .unwrap_or_default();
    FpmInstance {
        config_path,
        master_pid: master.map(|m| m.pid),
        master_started: master.and_then(|m| m.start_time),
        workers,
        config,
        log_path,
        log,
        sockets,
    }
}

fn sockets(
    root: &Root,
    cfg: &FpmConfig,
    net: Option<&NetFacts>,
    clients: &NginxClients,
) -> Vec<FpmSocket> {
    cfg.pools
        .iter()
        .filter_map(|pool| match &pool.listen {
            Some(FpmListen::Unix { path }) => Some((pool, path)),
            _ => None,
        })
        .map(|(pool, path)| {
            let chain = stat_chain(root, path);
            let listener = net.and_then(|n| n.unix_at(&path.display().to_string()));
            FpmSocket {
                pool: pool.name.clone(),
                path: path.clone(),
                listening: net.map(|_| listener.is_some()),
                accept_queue: listener.and_then(|l| l.accept_queue),
                backlog: listener.and_then(|l| l.backlog),
                nginx_access: clients
                    .iter()
                    .map(|(pid, user, creds)| ClientAccess {
                        nginx_master: *pid,
                        user: user.clone(),
                        credentials: creds.clone(),
                        access: unix_connect_access(creds, &chain),
                    })
                    .collect(),
                chain,
            }
        })
        .collect()
}
