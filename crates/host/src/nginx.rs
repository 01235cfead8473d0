//! nginx as it runs: master and worker processes found in `/proc` (with the
//! `-c`/`-p`/`-g`/`-e` options recovered from the master's rewritten
//! title), and the build facts printed by `nginx -V` (version, prefix,
//! config path, modules).

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::ParseError;
use crate::proc::{Limit, Process};
use crate::time::UnixMillis;

/// What an nginx process is, from its title.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum NginxRole {
    /// `nginx: master process …`
    Master,
    /// `nginx: worker process` (also `worker process is shutting down`).
    Worker,
    /// `nginx: cache manager process`
    CacheManager,
    /// `nginx: cache loader process`
    CacheLoader,
    /// nginx without a master (`master_process off`), or a title we do not
    /// know; treated as a master of itself.
    Single,
}

/// The role of a process if it is nginx, else `None`. Recognised by the
/// title nginx sets (`nginx: worker process`) or by `comm == "nginx"`.
pub fn nginx_role(p: &Process) -> Option<NginxRole> {
    let title = p.cmdline.first().map_or("", String::as_str);
    if let Some(rest) = title.strip_prefix("nginx: ") {
        return Some(if rest.starts_with("master process") {
            NginxRole::Master
        } else if rest.starts_with("worker process") {
            NginxRole::Worker
        } else if rest.starts_with("cache manager") {
            NginxRole::CacheManager
        } else if rest.starts_with("cache loader") {
            NginxRole::CacheLoader
        } else {
            NginxRole::Single
        });
    }
    if p.comm == "nginx" || p.program() == "nginx" {
        // `nginx -t`, `nginx -s reload`, `nginx -V` run by someone at this
        // moment are not a running server.
        let control = p
            .cmdline
            .iter()
            .skip(1)
            .any(|a| matches!(a.as_str(), "-t" | "-T" | "-v" | "-V" | "-s" | "-h" | "-?"));
        return (!control).then_some(NginxRole::Single);
    }
    None
}

/// The options an nginx master was started with.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct NginxArgs {
    /// The binary as it was invoked (first word after the title).
    pub binary: Option<String>,
    /// `-c FILE`.
    pub config: Option<PathBuf>,
    /// `-p PREFIX`.
    pub prefix: Option<PathBuf>,
    /// `-e FILE` (error log at startup).
    pub error_log: Option<PathBuf>,
    /// `-g DIRECTIVES`, each occurrence.
    pub directives: Vec<String>,
}

/// Recover the options from an nginx master's command line.
///
/// nginx overwrites its argv with one string, `nginx: master process ` and
/// the original arguments joined by spaces, so word boundaries are lost. An
/// option's value therefore runs until the next word that is itself an
/// nginx option (`-c`, `-p`, `-e`, `-g`, `-q`, `-t`, …): paths with spaces
/// survive, a path word that is exactly `-c` would not. Glued forms
/// (`-c/etc/nginx/x.conf`) work. When the title was not rewritten (several
/// argv entries) the entries are used as they are.
pub fn parse_master_cmdline(cmdline: &[String]) -> NginxArgs {
    let words: Vec<&str> = match cmdline {
        [one] => {
            let rest = one.strip_prefix("nginx: master process").unwrap_or(one);
            rest.split(' ').filter(|w| !w.is_empty()).collect()
        }
        many => many.iter().map(String::as_str).collect(),
    };
    let is_opt = |w: &str| {
        matches!(
            w,
            "-c" | "-p" | "-e" | "-g" | "-s" | "-q" | "-t" | "-T" | "-v" | "-V" | "-h" | "-?"
        )
    };
    let mut args = NginxArgs::default();
    let mut it = words.iter().copied().peekable();
    if let Some(first) = it.peek()
        && !first.starts_with('-')
    {
        args.binary = Some(first.to_string());
        it.next();
    }
    while let Some(w) = it.next() {
        let (flag, glued) = match (w.get(..2), w.get(2..)) {
            (Some(f), Some(rest)) if !rest.is_empty() && f.starts_with('-') && f != "--" => {
                (f, Some(rest))
            }
            _ => (w, None),
        };
        if !matches!(flag, "-c" | "-p" | "-e" | "-g") {
            continue;
        }
        let mut value: Vec<&str> = glued.into_iter().collect();
        if value.is_empty()
            && let Some(next) = it.next()
        {
            value.push(next);
        }
        while let Some(next) = it.peek() {
            if is_opt(next) || is_glued_opt(next) {
                break;
            }
            value.push(next);
            it.next();
        }
        let v = value.join(" ");
        if v.is_empty() {
            continue;
        }
        match flag {
            "-c" => args.config = Some(PathBuf::from(v)),
            "-p" => args.prefix = Some(PathBuf::from(v)),
            "-e" => args.error_log = Some(PathBuf::from(v)),
            _ => args.directives.push(v),
        }
    }
    args
}

/// `-cFILE`, `-pDIR`, `-eFILE` or `-gTEXT` glued into one word.
fn is_glued_opt(w: &str) -> bool {
    w.len() > 2 && matches!(w.get(..2), Some("-c" | "-p" | "-e" | "-g"))
}

/// What `nginx -V` says about the binary.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct NginxBuild {
    /// The product before the slash: `nginx`, `openresty`, `freenginx`.
    pub product: String,
    /// The version after the slash (`1.22.1`).
    pub version: String,
    /// `built by …` (compiler), when printed.
    pub built_by: Option<String>,
    /// `built with …` (TLS library and the one it runs with).
    pub built_with: Option<String>,
    /// Whether `TLS SNI support enabled` was printed.
    pub tls_sni: bool,
    /// The configure arguments, unquoted, in order.
    pub configure_args: Vec<String>,
    /// `--prefix` or the default `/usr/local/nginx`.
    pub prefix: PathBuf,
    /// `--conf-path` (relative ones resolved against the prefix) or the
    /// default `PREFIX/conf/nginx.conf`.
    pub conf_path: PathBuf,
    /// `--error-log-path` (may be `stderr`) or `PREFIX/logs/error.log`.
    pub error_log_path: PathBuf,
    /// `--http-log-path` or `PREFIX/logs/access.log`.
    pub http_log_path: PathBuf,
    /// `--pid-path` or `PREFIX/logs/nginx.pid`.
    pub pid_path: PathBuf,
    /// `--modules-path` or `PREFIX/modules`.
    pub modules_path: PathBuf,
    /// `--user` if given (nginx's default is `nobody`).
    pub user: Option<String>,
    /// `--group` if given.
    pub group: Option<String>,
    /// Modules compiled in (`--with-http_ssl_module` → `http_ssl_module`).
    pub static_modules: Vec<String>,
    /// Modules built as loadable objects (`=dynamic`,
    /// `--add-dynamic-module=PATH`).
    pub dynamic_modules: Vec<String>,
    /// Third-party modules compiled in (`--add-module=PATH`).
    pub added_modules: Vec<String>,
}

impl NginxBuild {
    /// The `user` nginx's workers run as when the config has no `user`
    /// directive (and the master runs as root).
    pub fn default_user(&self) -> &str {
        self.user.as_deref().unwrap_or("nobody")
    }

    /// Whether a module (`http_v2_module`, `stream`) is compiled in or
    /// available as a dynamic module.
    pub fn has_module(&self, name: &str) -> bool {
        self.static_modules
            .iter()
            .chain(&self.dynamic_modules)
            .any(|m| m == name)
    }
}

/// Parse the output of `nginx -V` (nginx prints it on stderr).
pub fn parse_nginx_v(text: &str) -> Result<NginxBuild, ParseError> {
    let mut b = NginxBuild::default();
    let mut seen_version = false;
    let mut configure = None;
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_end();
        if let Some(v) = line.strip_prefix("nginx version: ") {
            let (product, version) = v
                .split_once('/')
                .ok_or_else(|| ParseError::new(i + 1, "`PRODUCT/VERSION`", line))?;
            b.product = product.to_string();
            b.version = version.split_whitespace().next().unwrap_or("").to_string();
            seen_version = true;
        } else if let Some(v) = line.strip_prefix("built by ") {
            b.built_by = Some(v.to_string());
        } else if let Some(v) = line.strip_prefix("built with ") {
            b.built_with = Some(v.to_string());
        } else if line == "TLS SNI support enabled" {
            b.tls_sni = true;
        } else if let Some(v) = line.strip_prefix("configure arguments:") {
            configure = Some((i + 1, v.trim().to_string()));
        }
    }
    if !seen_version {
        return Err(ParseError::new(
            1,
            "`nginx version: nginx/X.Y.Z`",
            text.lines().next().unwrap_or(""),
        ));
    }
    if let Some((line, args)) = configure {
        b.configure_args =
            shell_words(&args).ok_or_else(|| ParseError::new(line, "balanced quotes", &args))?;
    }
    let explicit = |name: &str| {
        b.configure_args
            .iter()
            .rev()
            .find_map(|a| a.strip_prefix(name)?.strip_prefix('='))
            .map(str::to_string)
    };
    let prefix = PathBuf::from(explicit("--prefix").unwrap_or_else(|| "/usr/local/nginx".into()));
    let under = |v: Option<String>, default: &str| -> PathBuf {
        let p = PathBuf::from(v.unwrap_or_else(|| default.into()));
        if p.is_absolute() || p == Path::new("stderr") {
            p
        } else {
            prefix.join(p)
        }
    };
    b.conf_path = under(explicit("--conf-path"), "conf/nginx.conf");
    b.error_log_path = under(explicit("--error-log-path"), "logs/error.log");
    b.http_log_path = under(explicit("--http-log-path"), "logs/access.log");
    b.pid_path = under(explicit("--pid-path"), "logs/nginx.pid");
    b.modules_path = under(explicit("--modules-path"), "modules");
    b.user = explicit("--user");
    b.group = explicit("--group");
    b.prefix = prefix;
    for a in &b.configure_args {
        if let Some(m) = a.strip_prefix("--with-") {
            match m.split_once('=') {
                Some((name, "dynamic")) => b.dynamic_modules.push(name.to_string()),
                None if m.ends_with("_module") || m == "stream" || m == "mail" => {
                    b.static_modules.push(m.to_string());
                }
                _ => {}
            }
        } else if let Some(p) = a.strip_prefix("--add-dynamic-module=") {
            b.dynamic_modules.push(module_name(p));
        } else if let Some(p) = a.strip_prefix("--add-module=") {
            b.added_modules.push(module_name(p));
        }
    }
    Ok(b)
}

/// A third-party module's name from its source directory.
fn module_name(path: &str) -> String {
    path.trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or(path)
        .to_string()
}

/// Split a configure line like a POSIX shell would (single and double
/// quotes, backslash escapes outside single quotes). `None` on an unclosed
/// quote.
pub fn shell_words(s: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '\'' => break,
                        c => cur.push(c),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '"' => break,
                        '\\' => cur.push(chars.next()?),
                        c => cur.push(c),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        out.push(cur);
    }
    Some(out)
}

/// One running nginx: its master, workers and helper processes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NginxInstance {
    /// The master (or the only process with `master_process off`).
    pub master: Process,
    /// `master` or `single`.
    pub role: NginxRole,
    /// Options recovered from the master's command line.
    pub args: NginxArgs,
    /// The binary (`/proc/PID/exe`), else the invoked path.
    pub binary: Option<PathBuf>,
    /// Worker processes (children of the master), oldest first.
    pub workers: Vec<Process>,
    /// Workers still finishing requests after a reload or shutdown
    /// (`worker process is shutting down`).
    pub shutting_down: usize,
    /// Cache manager and loader processes.
    pub helpers: Vec<Process>,
}

impl NginxInstance {
    /// When the master started.
    pub fn master_start(&self) -> Option<UnixMillis> {
        self.master.start_time
    }

    /// The newest current worker's start: nginx forks new workers on every
    /// successful reload, so this approximates the last reload (a worker
    /// that crashed and was respawned also moves it forward). Falls back
    /// to the master's start when there are no workers.
    pub fn last_reload_estimate(&self) -> Option<UnixMillis> {
        self.workers
            .iter()
            .filter(|w| !is_shutting_down(w))
            .max_by_key(|w| w.start_ticks)
            .and_then(|w| w.start_time)
            .or(self.master.start_time)
    }

    /// `RLIMIT_NOFILE` of the master and each worker, by pid.
    pub fn nofile_limits(&self) -> Vec<(u32, NginxRole, Option<Limit>)> {
        std::iter::once((self.master.pid, self.role, self.master.nofile))
            .chain(
                self.workers
                    .iter()
                    .map(|w| (w.pid, NginxRole::Worker, w.nofile)),
            )
            .collect()
    }

    /// The main config file this master runs: `-c` (relative to the prefix
    /// like nginx resolves it) or the build's `--conf-path`.
    pub fn config_path(&self, build: Option<&NginxBuild>) -> Option<PathBuf> {
        let prefix = self
            .args
            .prefix
            .clone()
            .or_else(|| build.map(|b| b.prefix.clone()));
        match (&self.args.config, build) {
            (Some(c), _) if c.is_absolute() => Some(c.clone()),
            (Some(c), _) => Some(prefix.map_or_else(|| c.clone(), |p| p.join(c))),
            (None, Some(b)) => Some(b.conf_path.clone()),
            (None, None) => None,
        }
    }

    /// Every pid of this instance (master, workers, helpers).
    pub fn pids(&self) -> Vec<u32> {
        std::iter::once(self.master.pid)
            .chain(self.workers.iter().map(|w| w.pid))
            .chain(self.helpers.iter().map(|h| h.pid))
            .collect()
    }
}

fn is_shutting_down(p: &Process) -> bool {
    p.cmdline
        .first()
        .is_some_and(|t| t.contains("shutting down"))
}

/// Every nginx on the host.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct NginxProcesses {
    /// One entry per master (or master-less nginx), by pid.
    pub instances: Vec<NginxInstance>,
    /// Workers whose master is gone (a crashed master leaves them running
    /// the old config until they exit).
    pub orphans: Vec<Process>,
}

/// Group nginx processes into instances. `processes` is the whole process
/// table (any order).
pub fn group_nginx(processes: &[Process]) -> NginxProcesses {
    let mut out = NginxProcesses::default();
    let roles: Vec<(&Process, NginxRole)> = processes
        .iter()
        .filter_map(|p| nginx_role(p).map(|r| (p, r)))
        .collect();
    let is_master = |pid: u32| {
        roles
            .iter()
            .any(|(p, r)| p.pid == pid && matches!(r, NginxRole::Master | NginxRole::Single))
    };
    for (p, role) in &roles {
        match role {
            NginxRole::Master | NginxRole::Single => {
                // A `single` child of a master is a worker with an unknown
                // title; skip it here.
                if *role == NginxRole::Single && is_master(p.ppid) {
                    continue;
                }
                let args = parse_master_cmdline(&p.cmdline);
                out.instances.push(NginxInstance {
                    master: (*p).clone(),
                    role: *role,
                    binary: p
                        .exe
                        .clone()
                        .or_else(|| args.binary.as_ref().map(PathBuf::from)),
                    args,
                    workers: Vec::new(),
                    shutting_down: 0,
                    helpers: Vec::new(),
                });
            }
            _ => {}
        }
    }
    for (p, role) in &roles {
        let inst = out.instances.iter_mut().find(|i| i.master.pid == p.ppid);
        match (role, inst) {
            (NginxRole::Worker | NginxRole::Single, Some(i)) => {
                if is_shutting_down(p) {
                    i.shutting_down += 1;
                }
                i.workers.push((*p).clone());
            }
            (NginxRole::CacheManager | NginxRole::CacheLoader, Some(i)) => {
                i.helpers.push((*p).clone());
            }
            (NginxRole::Worker | NginxRole::CacheManager | NginxRole::CacheLoader, None) => {
                out.orphans.push((*p).clone());
            }
            _ => {}
        }
    }
    for i in &mut out.instances {
        i.workers.sort_by_key(|w| (w.start_ticks, w.pid));
    }
    out.instances.sort_by_key(|i| i.master.pid);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn title(t: &str) -> Vec<String> {
        vec![t.to_string()]
    }

    #[test]
    fn master_titles() {
        let a = parse_master_cmdline(&title(
            "nginx: master process /usr/sbin/nginx -g daemon on; master_process on;",
        ));
        assert_eq!(a.binary.as_deref(), Some("/usr/sbin/nginx"));
        assert_eq!(a.directives, vec!["daemon on; master_process on;"]);
        assert_eq!(a.config, None);
        let a = parse_master_cmdline(&title(
            "nginx: master process /opt/nginx/sbin/nginx -p /srv/my site -c conf/nginx.conf -e stderr",
        ));
        assert_eq!(a.prefix.as_deref(), Some(Path::new("/srv/my site")));
        assert_eq!(a.config.as_deref(), Some(Path::new("conf/nginx.conf")));
        assert_eq!(a.error_log.as_deref(), Some(Path::new("stderr")));
        let a = parse_master_cmdline(&title("nginx: master process nginx -c/etc/nginx/x.conf -q"));
        assert_eq!(a.config.as_deref(), Some(Path::new("/etc/nginx/x.conf")));
        // Not rewritten (several argv entries): taken as they are.
        let a = parse_master_cmdline(&[
            "/usr/sbin/nginx".into(),
            "-c".into(),
            "/etc/nginx/a -c b.conf".into(),
        ]);
        assert_eq!(
            a.config.as_deref(),
            Some(Path::new("/etc/nginx/a -c b.conf"))
        );
        assert_eq!(parse_master_cmdline(&[]), NginxArgs::default());
        assert_eq!(
            parse_master_cmdline(&title("nginx: master process -c")).config,
            None
        );
    }

    fn proc_(pid: u32, ppid: u32, cmd: &[&str], ticks: u64) -> Process {
        Process {
            pid,
            ppid,
            comm: "nginx".into(),
            state: 'S',
            cmdline: cmd.iter().map(|s| s.to_string()).collect(),
            exe: None,
            uid: 0,
            euid: 0,
            gid: 0,
            egid: 0,
            groups: vec![],
            user: None,
            start_ticks: ticks,
            start_time: Some(UnixMillis(i64::try_from(ticks).unwrap() * 10)),
            threads: 1,
            rss_kb: None,
            nofile: None,
            open_fds: None,
            gaps: vec![],
        }
    }

    #[test]
    fn grouping_masters_workers_orphans() {
        let ps = vec![
            proc_(
                10,
                1,
                &["nginx: master process /usr/sbin/nginx -c /etc/nginx/nginx.conf"],
                100,
            ),
            proc_(11, 10, &["nginx: worker process is shutting down"], 150),
            proc_(12, 10, &["nginx: worker process"], 300),
            proc_(13, 10, &["nginx: cache manager process"], 300),
            proc_(20, 1, &["nginx: worker process"], 50),
            proc_(30, 1, &["/usr/sbin/nginx", "-t"], 400),
            proc_(
                40,
                1,
                &["/usr/sbin/nginx", "-g", "daemon off; master_process off;"],
                500,
            ),
        ];
        let g = group_nginx(&ps);
        assert_eq!(g.instances.len(), 2);
        let m = &g.instances[0];
        assert_eq!(m.workers.len(), 2);
        assert_eq!(m.shutting_down, 1);
        assert_eq!(m.helpers.len(), 1);
        assert_eq!(m.last_reload_estimate(), Some(UnixMillis(3000)));
        assert_eq!(m.master_start(), Some(UnixMillis(1000)));
        assert_eq!(
            m.config_path(None).as_deref(),
            Some(Path::new("/etc/nginx/nginx.conf"))
        );
        assert_eq!(m.pids(), vec![10, 11, 12, 13]);
        assert_eq!(g.instances[1].role, NginxRole::Single);
        assert_eq!(g.orphans.len(), 1);
        let rel = NginxInstance {
            args: NginxArgs {
                prefix: Some("/srv/ngx".into()),
                config: Some("conf/a.conf".into()),
                ..NginxArgs::default()
            },
            ..m.clone()
        };
        assert_eq!(
            rel.config_path(None).as_deref(),
            Some(Path::new("/srv/ngx/conf/a.conf"))
        );
    }
}
