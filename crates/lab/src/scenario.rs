//! Failure scenarios as data (`lab/scenarios/*.toml`): an nginx snippet,
//! the backends and PHP-FPM pools behind it, the traffic to send, and the
//! root cause a diagnosis must find. The files are compiled into the binary
//! ([`all`]), so `badgateway lab` and the tests read the same ones.
//!
//! Placeholders in every text field: `@LISTEN@` (nginx's port), `@PREFIX@`
//! (nginx's prefix), `@DIR@` (a private directory for sockets),
//! `@PORT1@`…`@PORT9@` (free ports; nothing listens on one unless a backend
//! is put there).

use std::collections::BTreeMap;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::backend::{Backend, BackendProcess, Fault, Listen};
use crate::nginx::{Nginx, NginxBuilder};
use crate::php_fpm::{PhpFpm, Pool};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/scenarios.rs"));
}

/// Every scenario shipped with the binary: (name, TOML text).
pub fn all() -> &'static [(&'static str, &'static str)] {
    embedded::SCENARIOS
}

/// A scenario file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// One line: what goes wrong.
    pub summary: String,
    /// What the diagnosis must conclude.
    pub expect: Expect,
    /// The nginx part.
    pub nginx: NginxSpec,
    /// Fault-injecting backends.
    #[serde(default)]
    pub backend: Vec<BackendSpec>,
    /// Real PHP-FPM pools (all in one PHP-FPM master).
    #[serde(default)]
    pub php_fpm: Vec<PoolSpec>,
    /// Requests to send through nginx.
    #[serde(default)]
    pub traffic: Traffic,
    /// Changes made after the traffic.
    #[serde(default)]
    pub after: After,
}

/// The expected top finding.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// SPEC cause code of the top finding.
    pub cause: String,
    /// Its upstream (placeholders allowed), when it names one.
    pub upstream: Option<String>,
}

/// The nginx config parts (see [`NginxBuilder`]).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NginxSpec {
    /// Main-context directives.
    #[serde(default)]
    pub main: String,
    /// `events {}` directives.
    #[serde(default)]
    pub events: String,
    /// The `http {}` body.
    pub http: String,
    /// `error_log` level.
    #[serde(default = "default_level")]
    pub error_level: String,
}

fn default_level() -> String {
    "warn".into()
}

/// A lab backend.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackendSpec {
    /// `127.0.0.1:@PORT1@` or `unix:@DIR@/app.sock`.
    pub listen: String,
    /// A [`Fault`] (`ok`, `reset`, `slow:3000`, `crash-after:2`…).
    pub fault: String,
    /// Run as its own process (needed for crashes).
    #[serde(default)]
    pub process: bool,
}

/// A PHP-FPM pool.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoolSpec {
    /// Pool name.
    #[serde(default = "default_pool")]
    pub name: String,
    /// Socket path or address.
    pub listen: String,
    /// `listen.owner`.
    pub owner: Option<String>,
    /// `listen.group`.
    pub group: Option<String>,
    /// `listen.mode`.
    pub mode: Option<String>,
    /// `pm.max_children`.
    #[serde(default = "one")]
    pub max_children: u32,
    /// Extra pool lines.
    #[serde(default)]
    pub extra: String,
}

fn default_pool() -> String {
    "www".into()
}

fn one() -> u32 {
    1
}

/// The traffic.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Traffic {
    /// Requests per path.
    #[serde(default = "ten")]
    pub requests: u32,
    /// Paths, taken in turn.
    #[serde(default = "root_path")]
    pub paths: Vec<String>,
    /// Method.
    #[serde(default = "get")]
    pub method: String,
    /// Requests in flight at once.
    #[serde(default = "one")]
    pub concurrency: u32,
    /// Per-request timeout in ms.
    #[serde(default = "timeout_ms")]
    pub timeout_ms: u64,
}

fn ten() -> u32 {
    10
}
fn root_path() -> Vec<String> {
    vec!["/".into()]
}
fn get() -> String {
    "GET".into()
}
fn timeout_ms() -> u64 {
    10_000
}

impl Default for Traffic {
    fn default() -> Self {
        Traffic {
            requests: ten(),
            paths: root_path(),
            method: get(),
            concurrency: 1,
            timeout_ms: timeout_ms(),
        }
    }
}

/// What happens after the traffic.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct After {
    /// Edit nginx's config on disk (replace `from` by `to`) and do not
    /// reload: the running nginx keeps the old config.
    pub edit_config: Option<(String, String)>,
}

impl Scenario {
    /// Parse a scenario file.
    pub fn parse(text: &str) -> Result<Scenario, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }
}

/// A scenario brought up: nginx and its backends running, traffic sent.
pub struct Running {
    /// The private nginx.
    pub nginx: Nginx,
    /// Placeholder values.
    pub vars: BTreeMap<String, String>,
    /// Statuses nginx answered, in order.
    pub statuses: Vec<u16>,
    dir: tempfile::TempDir,
    _backends: Vec<Backend>,
    _processes: Vec<BackendProcess>,
    _fpm: Option<PhpFpm>,
}

impl Running {
    /// The private directory (`@DIR@`).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Substitute placeholders (`@DIR@`, `@PORTn@`, `@LISTEN@`, `@PREFIX@`).
    pub fn subst(&self, s: &str) -> String {
        subst(s, &self.vars)
    }
}

fn subst(s: &str, vars: &BTreeMap<String, String>) -> String {
    let mut out = s.to_owned();
    for (k, v) in vars {
        out = out.replace(k, v);
    }
    out
}

/// Bring a scenario up: backends, PHP-FPM, nginx; then send its traffic and
/// apply its after-effects. `exe` is the badgateway binary (for backends
/// that run as processes); `php_fpm` is needed only by scenarios with pools.
pub fn run(
    s: &Scenario,
    nginx_bin: &Path,
    exe: &Path,
    php_fpm: Option<&Path>,
) -> io::Result<Running> {
    let dir = tempfile::Builder::new().prefix("bgw-lab-").tempdir()?;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))?;
    let mut vars = BTreeMap::new();
    vars.insert("@DIR@".to_owned(), dir.path().display().to_string());
    for i in 1..=9 {
        vars.insert(format!("@PORT{i}@"), crate::ports::free_port().to_string());
    }
    let mut backends = Vec::new();
    let mut processes = Vec::new();
    for b in &s.backend {
        let listen: Listen = subst(&b.listen, &vars).parse().map_err(io::Error::other)?;
        if b.process {
            processes.push(BackendProcess::spawn(exe, &listen, &b.fault)?);
        } else {
            let fault: Fault = b.fault.parse().map_err(io::Error::other)?;
            backends.push(Backend::start(&listen, fault)?);
        }
    }
    let fpm = if s.php_fpm.is_empty() {
        None
    } else {
        let bin = php_fpm.ok_or_else(|| {
            io::Error::other("this scenario needs php-fpm (install Debian's php-fpm)")
        })?;
        let pools: Vec<Pool> = s
            .php_fpm
            .iter()
            .map(|p| Pool {
                name: p.name.clone(),
                listen: subst(&p.listen, &vars),
                owner: p.owner.clone(),
                group: p.group.clone(),
                mode: p.mode.clone(),
                max_children: p.max_children,
                extra: subst(&p.extra, &vars),
            })
            .collect();
        Some(PhpFpm::start(bin, &pools)?)
    };
    let nginx = NginxBuilder::new(nginx_bin, subst(&s.nginx.http, &vars))
        .main(subst(&s.nginx.main, &vars))
        .events(subst(&s.nginx.events, &vars))
        .error_level(&s.nginx.error_level)
        .start()?;
    vars.insert("@LISTEN@".to_owned(), nginx.port.to_string());
    vars.insert("@PREFIX@".to_owned(), nginx.prefix().display().to_string());
    let statuses = drive(&nginx, &s.traffic);
    nginx.wait_access_lines(statuses.len(), Duration::from_secs(5));
    if let Some((from, to)) = &s.after.edit_config {
        let text = std::fs::read_to_string(&nginx.conf_path)?;
        let edited = text.replace(&subst(from, &vars), &subst(to, &vars));
        // a file changed after the master started, never reloaded
        std::thread::sleep(Duration::from_millis(1100));
        std::fs::write(&nginx.conf_path, edited)?;
    }
    Ok(Running {
        nginx,
        vars,
        statuses,
        dir,
        _backends: backends,
        _processes: processes,
        _fpm: fpm,
    })
}

fn drive(nginx: &Nginx, t: &Traffic) -> Vec<u16> {
    let addr = nginx.addr();
    let timeout = Duration::from_millis(t.timeout_ms);
    let jobs: Vec<String> = (0..t.requests)
        .flat_map(|_| t.paths.iter().cloned())
        .collect();
    let per = jobs.len().div_ceil(t.concurrency.max(1) as usize).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = jobs
            .chunks(per)
            .map(|chunk| {
                scope.spawn(move || {
                    chunk
                        .iter()
                        .map(|p| {
                            crate::http::request(addr, &t.method, p, &[], timeout)
                                .map_or(0, |r| r.status)
                        })
                        .collect::<Vec<u16>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    })
}

/// Where the scenario files live in the source tree (for listing errors).
pub fn source_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../lab/scenarios")
}
