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

use super::{inventory, probes};
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
    /// Probe timeout per phase.
    pub probe_timeout: Duration,
    /// Version for defaults (else the installed nginx's).
    pub nginx_version: Option<NginxVersion>,
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
    let installed = crate::cmd::config::installed_nginx();
    let version = o
        .nginx_version
        .or_else(|| installed.as_ref().and_then(|i| i.version));
    let config = o
        .config
        .clone()
        .or_else(|| installed.as_ref().and_then(|i| i.conf_path.clone()))
        .unwrap_or_else(|| PathBuf::from("/etc/nginx/nginx.conf"));
    let cfg = load_any(
        &config,
        &LoadOptions {
            prefix: o.prefix.clone(),
        },
    )
    .map_err(|e| Failure::Input(e.to_string()))?;
    let model = Model::build(cfg, version);
    ev.nginx = NginxInfo {
        binary: None,
        version: version.map(|v| v.to_string()),
        config: Some(config.display().to_string()),
        master_pid: None,
        worker_user: Some(
            model
                .main
                .user
                .as_ref()
                .map_or_else(|| "nobody".to_owned(), |(u, _)| u.clone()),
        ),
    };
    ev.upstreams = inventory::build(&model, &resolve);
    ev.host.worker_connections = model.main.worker_connections;

    let facts = crate::cmd::config::gather_host_facts(&badgateway_lint::socket_paths(&model));
    ev.lints = badgateway_lint::check(&model, &facts)
        .into_iter()
        .map(|f| ConfigIssue {
            code: f.code.to_string(),
            cause: f.cause,
            severity: f.severity,
            at: format!("{}:{}", f.file, f.line),
            message: f.message,
            fix: f.fix,
        })
        .collect();

    if o.probe {
        let mut opts = ProbeOptions::with_timeout(o.probe_timeout);
        if let Some((user, group)) = &model.main.user {
            opts.worker = badgateway_probe::WorkerIdentity::lookup(user, group.as_deref()).ok();
        }
        ev.probes = probes::probe_inventory(&ev.upstreams, &opts);
    } else {
        ev.not_checked
            .push("backends were not probed (--no-probe)".into());
    }

    let context = Context {
        nginx: ev.nginx.clone(),
        window: None,
        requests: None,
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
