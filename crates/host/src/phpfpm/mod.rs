//! PHP-FPM, the usual `fastcgi_pass` backend: its configuration (main file,
//! included pool files, every pool's `listen`, socket owner/group/mode,
//! backlog, `pm.max_children`, `request_terminate_timeout`, allowed
//! clients) with the file and line of each setting, its running masters
//! and pool workers, and the warnings in its log.

pub mod conf;
pub mod instance;
pub mod log;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::ReadError;
use crate::proc::Process;
use crate::reader::Root;
use crate::section::Skip;

pub use conf::{IniEntry, IniItem, parse_fpm_conf};
pub use instance::{ClientAccess, FpmInstance, FpmSocket, collect_fpm};
pub use log::{
    FpmEvent, FpmEventKind, FpmLogSummary, PoolLogStats, parse_fpm_log, summarize_fpm_log,
};

/// A setting's value and where it was set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Setting {
    /// The value (`$pool` expanded in pool sections).
    pub value: String,
    /// The file that set it.
    pub file: PathBuf,
    /// 1-based line.
    pub line: usize,
}

/// Where a pool listens (`listen =`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FpmListen {
    /// A unix socket path.
    Unix {
        /// The socket path.
        path: PathBuf,
    },
    /// A TCP address: `port` alone means every address.
    Tcp {
        /// The address or host name, `None` for all addresses.
        host: Option<String>,
        /// The port.
        port: u16,
    },
}

/// Interpret a `listen` value: a path if it contains `/`, else
/// `[host:]port` (IPv6 hosts in brackets).
pub fn parse_listen(v: &str) -> Option<FpmListen> {
    let v = v.trim();
    if v.contains('/') {
        return Some(FpmListen::Unix { path: v.into() });
    }
    match v.rsplit_once(':') {
        Some((host, port)) => Some(FpmListen::Tcp {
            host: Some(
                host.trim_start_matches('[')
                    .trim_end_matches(']')
                    .to_string(),
            )
            .filter(|h| !h.is_empty() && h != "*"),
            port: port.parse().ok()?,
        }),
        None => Some(FpmListen::Tcp {
            host: None,
            port: v.parse().ok()?,
        }),
    }
}

/// A duration setting (`30`, `30s`, `5m`, `1h`, `1d`) in seconds.
pub fn parse_fpm_duration(v: &str) -> Option<u64> {
    let v = v.trim();
    let (num, mult) = match v.as_bytes().last()? {
        b's' => (&v[..v.len() - 1], 1),
        b'm' => (&v[..v.len() - 1], 60),
        b'h' => (&v[..v.len() - 1], 3600),
        b'd' => (&v[..v.len() - 1], 86_400),
        _ => (v, 1),
    };
    num.parse::<u64>().ok()?.checked_mul(mult)
}

/// One pool, settings merged over every section with its name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FpmPool {
    /// The pool name (`www`).
    pub name: String,
    /// Where its first `[name]` section is.
    pub file: PathBuf,
    /// Line of that section header.
    pub line: usize,
    /// Every setting, last assignment wins.
    pub settings: BTreeMap<String, Setting>,
    /// `listen`, interpreted.
    pub listen: Option<FpmListen>,
    /// `user` the workers run as.
    pub user: Option<String>,
    /// `group` the workers run as.
    pub group: Option<String>,
    /// `listen.owner` (unset: the user that starts php-fpm, usually root).
    pub listen_owner: Option<String>,
    /// `listen.group` (unset: that user's group).
    pub listen_group: Option<String>,
    /// `listen.mode` as bits (unset: `0o660`); serialized as an octal
    /// string.
    #[serde(serialize_with = "crate::section::octal")]
    pub listen_mode: u32,
    /// `listen.backlog` (unset: 511 on Linux; the kernel caps it at
    /// `net.core.somaxconn`).
    pub listen_backlog: i64,
    /// Whether `listen.acl_users` or `listen.acl_groups` is set: the socket
    /// then gets a POSIX ACL and `listen.owner`/`listen.group` are ignored,
    /// so mode bits alone do not decide access.
    pub listen_acl: bool,
    /// `listen.allowed_clients` (TCP only): connections from other
    /// addresses are closed at once, which nginx reports as a reset or
    /// premature close.
    pub allowed_clients: Option<Vec<String>>,
    /// `pm` (`static`, `dynamic`, `ondemand`).
    pub pm: Option<String>,
    /// `pm.max_children`: requests beyond it wait in the listen queue.
    pub max_children: Option<u64>,
    /// `request_terminate_timeout` in seconds (0 or unset: off).
    pub request_terminate_timeout: Option<u64>,
    /// `request_slowlog_timeout` in seconds.
    pub request_slowlog_timeout: Option<u64>,
    /// `slowlog` path.
    pub slowlog: Option<String>,
    /// `pm.status_path`.
    pub status_path: Option<String>,
    /// `ping.path`.
    pub ping_path: Option<String>,
}

impl FpmPool {
    /// Where a setting was made, for findings ("raise pm.max_children at
    /// /etc/php/8.2/fpm/pool.d/www.conf:113").
    pub fn setting(&self, key: &str) -> Option<&Setting> {
        self.settings.get(key)
    }

    fn finish(&mut self) {
        let get = |k: &str| self.settings.get(k).map(|s| s.value.clone());
        let num = |k: &str| get(k).and_then(|v| v.parse::<u64>().ok());
        self.listen = get("listen").and_then(|v| parse_listen(&v));
        self.user = get("user");
        self.group = get("group");
        self.listen_owner = get("listen.owner");
        self.listen_group = get("listen.group");
        self.listen_mode = get("listen.mode")
            .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
            .unwrap_or(0o660);
        self.listen_backlog = get("listen.backlog")
            .and_then(|v| v.parse().ok())
            .unwrap_or(511);
        self.listen_acl = get("listen.acl_users").is_some_and(|v| !v.is_empty())
            || get("listen.acl_groups").is_some_and(|v| !v.is_empty());
        self.allowed_clients = get("listen.allowed_clients").map(|v| {
            v.split(',')
                .map(|c| c.trim().to_string())
                .filter(|c| !c.is_empty())
                .collect()
        });
        self.pm = get("pm");
        self.max_children = num("pm.max_children");
        self.request_terminate_timeout =
            get("request_terminate_timeout").and_then(|v| parse_fpm_duration(&v));
        self.request_slowlog_timeout =
            get("request_slowlog_timeout").and_then(|v| parse_fpm_duration(&v));
        self.slowlog = get("slowlog");
        self.status_path = get("pm.status_path");
        self.ping_path = get("ping.path");
    }
}

/// A whole PHP-FPM configuration: `[global]` and the pools.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FpmConfig {
    /// The main file.
    pub main: PathBuf,
    /// Every file read, in order (main first, then includes).
    pub files: Vec<PathBuf>,
    /// `[global]` settings (and settings before any section).
    pub global: BTreeMap<String, Setting>,
    /// Pools in order of first appearance.
    pub pools: Vec<FpmPool>,
    /// Included files that could not be read or parsed.
    pub gaps: Vec<Skip>,
}

impl FpmConfig {
    /// The pool named `name`.
    pub fn pool(&self, name: &str) -> Option<&FpmPool> {
        self.pools.iter().find(|p| p.name == name)
    }

    /// The pool listening on this unix socket path.
    pub fn pool_on_path(&self, path: &Path) -> Option<&FpmPool> {
        self.pools
            .iter()
            .find(|p| matches!(&p.listen, Some(FpmListen::Unix { path: p2 }) if p2 == path))
    }

    /// The pool listening on this TCP port.
    pub fn pool_on_port(&self, port: u16) -> Option<&FpmPool> {
        self.pools
            .iter()
            .find(|p| matches!(&p.listen, Some(FpmListen::Tcp { port: p2, .. }) if *p2 == port))
    }

    /// The `error_log` path (unset: `log/php-fpm.log` under the prefix,
    /// `/var` without one); `None` when it goes to syslog.
    pub fn error_log(&self, prefix: Option<&Path>) -> Option<PathBuf> {
        let v = self
            .global
            .get("error_log")
            .map_or("log/php-fpm.log", |s| s.value.as_str());
        if v == "syslog" {
            return None;
        }
        let p = PathBuf::from(v);
        Some(if p.is_absolute() {
            p
        } else {
            prefix.unwrap_or(Path::new("/var")).join(p)
        })
    }
}

/// Files matched by one `include` pattern, each read and parsed (or not).
pub type Loaded = Vec<(PathBuf, Result<Vec<IniItem>, ReadError>)>;

/// Build a configuration from the main file's items, loading includes
/// through `load` (given the pattern as written; it globs, reads and parses).
/// Sections and includes are processed in order, as php-fpm does: an
/// included file's sections change the current pool for what follows.
pub fn build_fpm_config(
    main: &Path,
    items: Vec<IniItem>,
    load: &mut dyn FnMut(&str) -> Loaded,
) -> FpmConfig {
    let mut cfg = FpmConfig {
        main: main.to_path_buf(),
        ..FpmConfig::default()
    };
    let mut current: Option<usize> = None;
    apply(&mut cfg, main, items, &mut current, load, 0);
    for p in &mut cfg.pools {
        p.finish();
    }
    cfg
}

fn apply(
    cfg: &mut FpmConfig,
    file: &Path,
    items: Vec<IniItem>,
    current: &mut Option<usize>,
    load: &mut dyn FnMut(&str) -> Loaded,
    depth: usize,
) {
    cfg.files.push(file.to_path_buf());
    for item in items {
        match item {
            IniItem::Section { name, line } => {
                *current = if name == "global" {
                    None
                } else if let Some(i) = cfg.pools.iter().position(|p| p.name == name) {
                    Some(i)
                } else {
                    cfg.pools.push(FpmPool {
                        name,
                        file: file.to_path_buf(),
                        line,
                        settings: BTreeMap::new(),
                        listen: None,
                        user: None,
                        group: None,
                        listen_owner: None,
                        listen_group: None,
                        listen_mode: 0o660,
                        listen_backlog: 511,
                        listen_acl: false,
                        allowed_clients: None,
                        pm: None,
                        max_children: None,
                        request_terminate_timeout: None,
                        request_slowlog_timeout: None,
                        slowlog: None,
                        status_path: None,
                        ping_path: None,
                    });
                    Some(cfg.pools.len() - 1)
                };
            }
            IniItem::Entry(e) if e.key == "include" => {
                if depth >= 8 || cfg.files.len() > 1000 {
                    continue;
                }
                for (path, loaded) in load(&e.value) {
                    if cfg.files.contains(&path) {
                        continue;
                    }
                    match loaded {
                        Ok(items) => apply(cfg, &path, items, current, load, depth + 1),
                        Err(err) => cfg
                            .gaps
                            .push(Skip::from_read_error(&path.display().to_string(), &err)),
                    }
                }
            }
            IniItem::Entry(e) => {
                let (map, value) = match current {
                    Some(i) => {
                        let name = cfg.pools[*i].name.clone();
                        (&mut cfg.pools[*i].settings, e.value.replace("$pool", &name))
                    }
                    None => (&mut cfg.global, e.value),
                };
                map.insert(
                    e.key,
                    Setting {
                        value,
                        file: file.to_path_buf(),
                        line: e.line,
                    },
                );
            }
        }
    }
}

/// Read a PHP-FPM configuration under `root`. Relative `include` patterns
/// resolve against `prefix` (php-fpm's `-p`), else `/usr` (Debian's build
/// prefix). Fails only if the main file cannot be read or parsed.
pub fn read_fpm_config(
    root: &Root,
    main: &Path,
    prefix: Option<&Path>,
) -> Result<FpmConfig, ReadError> {
    let items = root.parse(main, parse_fpm_conf)?;
    let base = prefix.unwrap_or(Path::new("/usr")).to_path_buf();
    let mut load = |pattern: &str| -> Loaded {
        let pat = if Path::new(pattern).is_absolute() {
            pattern.to_string()
        } else {
            base.join(pattern).display().to_string()
        };
        root.glob(&pat)
            .into_iter()
            .map(|p| {
                let r = root.parse(&p, parse_fpm_conf);
                (p, r)
            })
            .collect()
    };
    Ok(build_fpm_config(main, items, &mut load))
}

/// The config path in a master's title, `php-fpm: master process (PATH)`.
pub fn master_config_path(p: &Process) -> Option<PathBuf> {
    let t = p.cmdline.first()?;
    let rest = t.strip_prefix("php-fpm: master process (")?;
    Some(PathBuf::from(rest.strip_suffix(')').unwrap_or(rest)))
}

/// The pool in a worker's title, `php-fpm: pool NAME`.
pub fn worker_pool(p: &Process) -> Option<&str> {
    p.cmdline.first()?.strip_prefix("php-fpm: pool ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_forms() {
        assert_eq!(
            parse_listen("/run/php/php8.2-fpm.sock"),
            Some(FpmListen::Unix {
                path: "/run/php/php8.2-fpm.sock".into()
            })
        );
        assert_eq!(
            parse_listen("9000"),
            Some(FpmListen::Tcp {
                host: None,
                port: 9000
            })
        );
        assert_eq!(
            parse_listen("[::1]:9001"),
            Some(FpmListen::Tcp {
                host: Some("::1".into()),
                port: 9001
            })
        );
        assert_eq!(parse_listen("127.0.0.1:x"), None);
        assert_eq!(parse_fpm_duration("5m"), Some(300));
        assert_eq!(parse_fpm_duration("30"), Some(30));
        assert_eq!(parse_fpm_duration("m"), None);
        assert_eq!(parse_fpm_duration(""), None);
    }

    #[test]
    fn includes_pools_and_merging() {
        let main = parse_fpm_conf(
            "[global]\nerror_log = /var/log/php-fpm.log\ninclude = pool.d/*.conf\n[www]\npm.max_children = 9\n",
        )
        .unwrap();
        let mut load = |pat: &str| -> Loaded {
            assert_eq!(pat, "pool.d/*.conf");
            vec![
                (
                    PathBuf::from("/etc/fpm/pool.d/a.conf"),
                    Ok(parse_fpm_conf(
                        "[www]\nlisten = /run/$pool.sock\nlisten.mode = 0600\npm.max_children = 5\n\
                         request_terminate_timeout = 1m\nlisten.acl_users = www-data\n",
                    )
                    .unwrap()),
                ),
                (
                    PathBuf::from("/etc/fpm/pool.d/b.conf"),
                    Err(ReadError::io(
                        "/etc/fpm/pool.d/b.conf",
                        std::io::Error::from(std::io::ErrorKind::PermissionDenied),
                    )),
                ),
            ]
        };
        let cfg = build_fpm_config(Path::new("/etc/fpm/php-fpm.conf"), main, &mut load);
        assert_eq!(cfg.pools.len(), 1);
        let www = &cfg.pools[0];
        assert_eq!(
            www.listen,
            Some(FpmListen::Unix {
                path: "/run/www.sock".into()
            })
        );
        assert_eq!(www.listen_mode, 0o600);
        // The main file's value comes after the include: it wins.
        assert_eq!(www.max_children, Some(9));
        assert_eq!(www.setting("pm.max_children").unwrap().line, 5);
        assert_eq!(www.request_terminate_timeout, Some(60));
        assert!(www.listen_acl);
        assert_eq!(www.listen_backlog, 511);
        assert_eq!(cfg.gaps.len(), 1);
        assert_eq!(
            cfg.error_log(None),
            Some(PathBuf::from("/var/log/php-fpm.log"))
        );
        assert!(cfg.pool_on_path(Path::new("/run/www.sock")).is_some());
    }
}
