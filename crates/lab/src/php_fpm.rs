//! A private PHP-FPM (Debian's `php-fpm` package) with pools we describe:
//! own config, pid file, log and sockets in a temp dir, foreground, stopped
//! by pid. Used by lab scenarios and tests for the FastCGI cases (socket
//! missing, socket permissions, `pm.max_children` reached).

use std::fmt::Write as _;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The php-fpm binary (`$BADGATEWAY_PHP_FPM`, else the newest
/// `/usr/sbin/php-fpm*`).
pub fn find_php_fpm() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("BADGATEWAY_PHP_FPM") {
        return Some(PathBuf::from(p));
    }
    std::fs::read_dir("/usr/sbin").ok().and_then(|d| {
        d.flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("php-fpm"))
            })
            .max()
    })
}

/// php-fpm for a test that needs it: a failure under `CI=true` when
/// missing, a printed skip elsewhere.
pub fn require_php_fpm() -> Option<PathBuf> {
    match find_php_fpm() {
        Some(p) => Some(p),
        None if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") => {
            panic!("php-fpm is required under CI=true but was not found (install Debian's php-fpm)")
        }
        None => {
            eprintln!("skipping: php-fpm not installed (run ./scripts/test to install it)");
            None
        }
    }
}

/// One pool.
#[derive(Debug, Clone)]
pub struct Pool {
    /// Pool name (`www`).
    pub name: String,
    /// `listen`: a socket path or `127.0.0.1:PORT`.
    pub listen: String,
    /// `listen.owner`, when set.
    pub owner: Option<String>,
    /// `listen.group`, when set.
    pub group: Option<String>,
    /// `listen.mode`, when set (`0660`).
    pub mode: Option<String>,
    /// `pm.max_children` (static pool).
    pub max_children: u32,
    /// Extra pool lines (`request_terminate_timeout = 1s`…).
    pub extra: String,
}

impl Pool {
    /// A pool listening on `listen`, one child, no ownership settings.
    pub fn new(name: &str, listen: impl Into<String>) -> Pool {
        Pool {
            name: name.into(),
            listen: listen.into(),
            owner: None,
            group: None,
            mode: None,
            max_children: 1,
            extra: String::new(),
        }
    }
}

/// A running PHP-FPM master; stopped (SIGQUIT, then SIGKILL) when dropped.
pub struct PhpFpm {
    child: Child,
    dir: tempfile::TempDir,
    /// The generated config file.
    pub conf_path: PathBuf,
    /// PHP-FPM's own error log.
    pub log_path: PathBuf,
}

impl PhpFpm {
    /// Start `bin` with `pools` and wait until every pool accepts
    /// connections (or its socket exists, when only root may connect).
    pub fn start(bin: &Path, pools: &[Pool]) -> io::Result<PhpFpm> {
        let dir = tempfile::Builder::new().prefix("bgw-fpm-").tempdir()?;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))?;
        let d = dir.path().display();
        let root = is_root();
        let mut conf = format!(
            "[global]\npid = {d}/php-fpm.pid\nerror_log = {d}/php-fpm.log\ndaemonize = no\n"
        );
        for p in pools {
            let _ = write!(conf, "[{}]\nlisten = {}\n", p.name, p.listen);
            if root {
                conf.push_str("user = nobody\ngroup = nogroup\n");
            }
            for (k, v) in [
                ("listen.owner", &p.owner),
                ("listen.group", &p.group),
                ("listen.mode", &p.mode),
            ] {
                if let Some(v) = v {
                    let _ = writeln!(conf, "{k} = {v}");
                }
            }
            let _ = write!(
                conf,
                "pm = static\npm.max_children = {}\nping.path = /ping\n{}\n",
                p.max_children, p.extra
            );
        }
        let conf_path = dir.path().join("php-fpm.conf");
        std::fs::write(&conf_path, conf)?;
        let child = Command::new(bin)
            .arg("-n")
            .arg("-F")
            .arg("-y")
            .arg(&conf_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let mut fpm = PhpFpm {
            child,
            log_path: dir.path().join("php-fpm.log"),
            conf_path,
            dir,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if pools.iter().all(|p| ready(&p.listen)) {
                return Ok(fpm);
            }
            if let Some(status) = fpm.child.try_wait()? {
                let log = std::fs::read_to_string(&fpm.log_path).unwrap_or_default();
                return Err(io::Error::other(format!(
                    "php-fpm exited ({status}): {}",
                    log.trim()
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(io::Error::other("php-fpm did not start listening in time"))
    }

    /// The temp dir holding config, pid and log.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The master's pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

fn ready(listen: &str) -> bool {
    if listen.starts_with('/') {
        Path::new(listen).exists()
    } else {
        std::net::TcpStream::connect(listen).is_ok()
    }
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

impl Drop for PhpFpm {
    fn drop(&mut self) {
        crate::proc::stop_child(&mut self.child, libc::SIGQUIT, Duration::from_secs(5));
    }
}
