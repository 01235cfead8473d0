//! Gathering the evidence for one diagnosis: find the nginx, load its
//! config, build the upstream inventory, lint it, read its logs, probe its
//! backends, inspect the host — each step degrading to "not checked, and
//! why" instead of failing the whole diagnosis.

use std::path::PathBuf;
use std::time::Duration;

use badgateway_conf::{LoadOptions, Model, NginxVersion, load_any};
use badgateway_engine::evidence::{ConfigIssue, Evidence, NginxInfo};
use badgateway_probe::ProbeOptions;
use badgateway_report::diagnose::Context;

use super::{host, inventory, logs, probes};
use crate::exit::Failure;

/// What to diagnose and how.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Main config file (else the running master's, else nginx -V's).
    pub config: Option<PathBuf>,
    /// nginx's prefix (`-p`).
    pub prefix: Option<PathBuf>,
    /// Log window start (`--since`).
    pub since: Option<String>,
    /// Probe the backends.
    pub probe: bool,
    /// Inspect this host (processes, sockets, PHP-FPM, limits).
    pub host: bool,
    /// Run `nginx -t` (may create missing log files, so opt-in).
    pub nginx_test: bool,
    /// Probe timeout per phase.
    pub probe_timeout: Duration,
    /// Version for defaults (else the running or installed nginx's).
    pub nginx_version: Option<NginxVersion>,
    /// Error/access logs to read instead of those the config names.
    pub logs: Vec<PathBuf>,
}

/// The evidence and what the report header says.
pub struct Gathered {
    /// For the engine.
    pub evidence: Evidence,
    /// For the renderers.
    pub context: Context,
}

/// Gather everything. Fails only when there is nothing to diagnose at all
/// (no config could be found or read).
pub fn gather(o: &Options) -> Result<Gathered, Failure> {
    let mut ev = Evidence::default();
    let facts = o.host.then(|| host::collect(o.nginx_test));
    let config_abs = o
        .config
        .as_ref()
        .map(|c| std::path::absolute(c).unwrap_or_else(|_| c.clone()));
    let (target, installed_version) = match &facts {
        Some(f) => {
            let t = host::choose(f, config_abs.as_deref(), o.prefix.as_deref());
            let v = t.version.clone();
            (Some(t), v)
        }
        None => (None, None),
    };
    let installed = if target.is_none()
        || o.config.is_none() && target.as_ref().is_some_and(|t| t.instance.is_none())
    {
        crate::cmd::config::installed_nginx()
    } else {
        None
    };
    let version = o
        .nginx_version
        .or_else(|| installed_version.as_deref().and_then(|v| v.parse().ok()))
        .or_else(|| installed.as_ref().and_then(|i| i.version));
    let config = o
        .config
        .clone()
        .or_else(|| target.as_ref().map(|t| t.config.clone()))
        .or_else(|| installed.as_ref().and_then(|i| i.conf_path.clone()))
        .unwrap_or_else(|| PathBuf::from("/etc/nginx/nginx.conf"));
    let prefix = o
        .prefix
        .clone()
        .or_else(|| target.as_ref().and_then(|t| t.prefix.clone()));
    let cfg = load_any(
        &config,
        &LoadOptions {
            prefix: prefix.clone(),
        },
    )
    .map_err(|e| Failure::Input(e.to_string()))?;
    let model = Model::build(cfg, version);
    let instance = target.as_ref().and_then(|t| t.instance);
    ev.nginx = NginxInfo {
        binary: target
            .as_ref()
            .and_then(|t| t.binary.as_ref())
            .map(|b| b.display().to_string()),
        version: version.map(|v| v.to_string()),
        config: Some(config.display().to_string()),
        master_pid: instance.map(|i| i.master.pid),
        worker_user: Some(
            model
                .main
                .user
                .as_ref()
                .map_or_else(|| "nobody".to_owned(), |(u, _)| u.clone()),
        ),
        listen_ports: listen_ports(&model),
    };
    if o.host && instance.is_none() {
        ev.not_checked.push(format!(
            "no running nginx uses {}: host facts describe this machine without a running nginx",
            config.display()
        ));
    }
    ev.upstreams = inventory::build(&model, &resolve);
    ev.host.worker_connections = model.main.worker_connections;
    ev.host.worker_rlimit_nofile = model.main.worker_rlimit_nofile;

    // offline: nothing about this machine applies to a copied config
    let lint_facts = match &facts {
        Some(f) => crate::cmd::config::gather_host_facts(
            &badgateway_lint::socket_paths(&model),
            Some((f, instance.map(|i| i.master.pid))),
        ),
        None => badgateway_lint::HostFacts::default(),
    };
    ev.lints = badgateway_lint::check(&model, &lint_facts)
        .into_iter()
        .map(|f| ConfigIssue {
            code: f.code.to_string(),
            cause: f.cause,
            severity: f.severity,
            at: {
                let file = model.cfg.conf_prefix.join(&f.file);
                let file = std::path::absolute(&file).unwrap_or(file);
                format!("{}:{}", file.display(), f.line)
            },
            message: f.message,
            fix: f.fix,
        })
        .collect();

    let creds = facts.as_ref().and_then(|f| {
        target
            .as_ref()
            .and_then(|t| host::worker_credentials(f, t, model.main.user.as_ref()))
    });
    let probe_opts = o.probe.then(|| {
        let mut opts = ProbeOptions::with_timeout(o.probe_timeout);
        let (user, group) = model
            .main
            .user
            .clone()
            .unwrap_or_else(|| ("nobody".to_owned(), None));
        opts.worker = badgateway_probe::WorkerIdentity::lookup(&user, group.as_deref()).ok();
        opts
    });
    // The probes mostly wait on the network and the log reading mostly
    // computes: run them side by side, so the diagnosis takes about the
    // longer of the two, not their sum.
    let upstreams = &ev.upstreams;
    let (logs, probed) = std::thread::scope(|scope| {
        let probing = probe_opts
            .as_ref()
            .map(|opts| scope.spawn(move || probes::probe_inventory(upstreams, opts)));
        let logs = logs::read(&model, upstreams, &o.logs, o.since.as_deref());
        (logs, probing.map(|h| h.join()))
    });
    ev.log = logs.evidence;
    ev.not_checked.extend(logs.notes);
    match probed {
        Some(Ok(results)) => ev.probes = results,
        Some(Err(_)) => ev
            .not_checked
            .push("backends were not probed (the probes stopped unexpectedly)".into()),
        None => ev.not_checked.push(
            if o.host {
                "backends were not probed (--no-probe)"
            } else {
                "backends were not probed (--offline)"
            }
            .into(),
        ),
    }

    match (&facts, &target) {
        (Some(f), Some(t)) => {
            let files: Vec<PathBuf> = model.cfg.files.iter().map(|s| s.path.clone()).collect();
            let (h, notes) = host::evidence(f, t, &ev.upstreams, creds.as_ref(), &files);
            let (worker_connections, rlimit) =
                (ev.host.worker_connections, ev.host.worker_rlimit_nofile);
            ev.host = h;
            ev.host.worker_connections = worker_connections;
            ev.host.worker_rlimit_nofile = rlimit;
            ev.not_checked.extend(notes);
        }
        _ => ev
            .not_checked
            .push("this host was not inspected (--offline)".into()),
    }

    let context = Context {
        nginx: ev.nginx.clone(),
        window: logs.window,
        requests: logs.requests,
    };
    Ok(Gathered {
        evidence: ev,
        context,
    })
}

/// Resolve a name the way nginx does at start-up (getaddrinfo, every
/// address, IPv4 first), as `ip:port` / `[v6]:port`.
fn resolve(host: &str, port: u16) -> Vec<String> {
    badgateway_probe::resolve::resolve(host)
        .addresses
        .iter()
        .map(|ip| std::net::SocketAddr::new(*ip, port).to_string())
        .collect()
}

/// The TCP ports the config listens on, in `http` and `stream`.
fn listen_ports(model: &Model) -> Vec<u16> {
    let http = model
        .http
        .iter()
        .flat_map(|h| &h.servers)
        .flat_map(|s| &s.listens);
    let stream = model
        .stream
        .iter()
        .flat_map(|st| &st.servers)
        .flat_map(|s| &s.listens);
    let mut ports: Vec<u16> = http.chain(stream).filter_map(|l| l.port()).collect();
    ports.sort_unstable();
    ports.dedup();
    ports
}
