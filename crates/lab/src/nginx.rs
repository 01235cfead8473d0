//! A private nginx instance: temporary prefix, loopback listen port, its own
//! error and access logs. The config is the caller's `http {}` body wrapped
//! in a main context that keeps every path inside the prefix.
//!
//! Placeholders in the caller's text: `@LISTEN@` (the nginx port, e.g. use
//! `listen 127.0.0.1:@LISTEN@;`) and `@PREFIX@` (the prefix directory).

use std::fs;
use std::io;
use std::net::{SocketAddr, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::ports::free_port;
use crate::proc::{signal, stop_child};

/// Where the nginx binary is: `$BADGATEWAY_NGINX`, `/usr/sbin/nginx`, or
/// `nginx` on `PATH`.
pub fn find_nginx() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("BADGATEWAY_NGINX") {
        return Some(PathBuf::from(p));
    }
    let sbin = Path::new("/usr/sbin/nginx");
    if sbin.is_file() {
        return Some(sbin.to_path_buf());
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("nginx"))
            .find(|p| p.is_file())
    })
}

/// The nginx binary for a test that needs one. Under `CI=true` a missing
/// nginx is a test failure (panic), never a silent skip; elsewhere the test
/// prints why it is skipped and gets `None`.
pub fn require_nginx() -> Option<PathBuf> {
    match find_nginx() {
        Some(p) => Some(p),
        None if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") => {
            panic!("nginx is required under CI=true but was not found (install Debian's nginx)")
        }
        None => {
            eprintln!("skipping: nginx not installed (run ./scripts/test to install it)");
            None
        }
    }
}

/// How to start a private nginx.
#[derive(Debug, Clone)]
pub struct NginxBuilder {
    binary: PathBuf,
    main: String,
    events: String,
    http: String,
    error_level: String,
    access_format: String,
    workers: u32,
}

/// The access-log format used unless the caller sets another: `combined`
/// plus every `$upstream_*` variable the tool reads.
pub const LAB_LOG_FORMAT: &str = concat!(
    r#"'$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent ' "#,
    r#"'"$http_referer" "$http_user_agent" ua="$upstream_addr" us="$upstream_status" ' "#,
    r#"'urt="$upstream_response_time" uct="$upstream_connect_time" ' "#,
    r#"'uht="$upstream_header_time" ubr="$upstream_bytes_received" ucs="$upstream_cache_status"'"#
);

impl NginxBuilder {
    /// A builder around `binary` with an `http {}` body (placeholders
    /// `@LISTEN@`, `@PREFIX@`).
    pub fn new(binary: impl Into<PathBuf>, http_body: impl Into<String>) -> Self {
        NginxBuilder {
            binary: binary.into(),
            main: String::new(),
            events: String::new(),
            http: http_body.into(),
            error_level: "error".into(),
            access_format: LAB_LOG_FORMAT.into(),
            workers: 1,
        }
    }

    /// Extra main-context directives (`user`, `worker_rlimit_nofile`, …).
    pub fn main(mut self, text: impl Into<String>) -> Self {
        self.main = text.into();
        self
    }

    /// Extra `events {}` directives (`worker_connections 16;`).
    pub fn events(mut self, text: impl Into<String>) -> Self {
        self.events = text.into();
        self
    }

    /// The `error_log` level (default `error`, like a stock install).
    pub fn error_level(mut self, level: impl Into<String>) -> Self {
        self.error_level = level.into();
        self
    }

    /// The `log_format` text for the access log (quoted nginx string(s)).
    pub fn access_format(mut self, fmt: impl Into<String>) -> Self {
        self.access_format = fmt.into();
        self
    }

    /// `worker_processes` (default 1).
    pub fn workers(mut self, n: u32) -> Self {
        self.workers = n;
        self
    }

    /// Start nginx in the foreground (`daemon off`) and wait until it accepts
    /// connections on its port. Retries once on a port race.
    pub fn start(&self) -> io::Result<Nginx> {
        let mut last = None;
        for _ in 0..3 {
            match self.try_start() {
                Ok(n) => return Ok(n),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| io::Error::other("nginx did not start")))
    }

    fn try_start(&self) -> io::Result<Nginx> {
        let dir = tempfile::Builder::new().prefix("bgw-nginx-").tempdir()?;
        let prefix = dir.path().to_path_buf();
        // The worker may run as another user (nobody when started as root):
        // let it traverse the prefix and write its temp dirs.
        fs::set_permissions(&prefix, fs::Permissions::from_mode(0o755))?;
        for d in ["logs", "tmp"] {
            fs::create_dir_all(prefix.join(d))?;
            fs::set_permissions(prefix.join(d), fs::Permissions::from_mode(0o777))?;
        }
        let port = free_port();
        let conf_path = prefix.join("nginx.conf");
        let text = self.render(&prefix, port);
        fs::write(&conf_path, text)?;
        let error_log = prefix.join("logs/error.log");
        let stderr = fs::File::create(prefix.join("logs/stderr.log"))?;
        let child = Command::new(&self.binary)
            .arg("-p")
            .arg(&prefix)
            .arg("-c")
            .arg(&conf_path)
            .arg("-e")
            .arg(&error_log)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()?;
        let mut nginx = Nginx {
            child,
            dir,
            port,
            conf_path,
            error_log,
            access_log: prefix.join("logs/access.log"),
        };
        nginx.wait_ready(Duration::from_secs(10))?;
        Ok(nginx)
    }

    fn render(&self, prefix: &Path, port: u16) -> String {
        let p = prefix.display();
        let subst = |s: &str| {
            s.replace("@LISTEN@", &port.to_string())
                .replace("@PREFIX@", &p.to_string())
        };
        format!(
            "daemon off;\nmaster_process on;\nworker_processes {workers};\npid {p}/nginx.pid;\n\
             error_log {p}/logs/error.log {level};\n{main}\n\
             events {{\n{wc}{events}\n}}\n\
             http {{\n    log_format lab {fmt};\n    access_log {p}/logs/access.log lab;\n\
             \x20   client_body_temp_path {p}/tmp/body;\n    proxy_temp_path {p}/tmp/proxy;\n\
             \x20   fastcgi_temp_path {p}/tmp/fastcgi;\n    uwsgi_temp_path {p}/tmp/uwsgi;\n\
             \x20   scgi_temp_path {p}/tmp/scgi;\n\n{http}\n}}\n",
            workers = self.workers,
            level = self.error_level,
            main = subst(&self.main),
            events = subst(&self.events),
            wc = if self.events.contains("worker_connections") {
                ""
            } else {
                "    worker_connections 256;\n"
            },
            fmt = self.access_format,
            http = subst(&self.http),
        )
    }
}

/// A running private nginx. Dropping it stops the master (and so its
/// workers) by pid and removes the prefix.
#[derive(Debug)]
pub struct Nginx {
    child: Child,
    dir: tempfile::TempDir,
    /// The port substituted for `@LISTEN@`.
    pub port: u16,
    /// The generated main config file.
    pub conf_path: PathBuf,
    /// The error log (`error_log` and `-e`).
    pub error_log: PathBuf,
    /// The access log (format `lab` unless overridden).
    pub access_log: PathBuf,
}

impl Nginx {
    /// The prefix directory (`-p`).
    pub fn prefix(&self) -> &Path {
        self.dir.path()
    }

    /// The master's pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `127.0.0.1:port`.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// The error log's current contents (lossy UTF-8).
    pub fn error_log_text(&self) -> String {
        String::from_utf8_lossy(&fs::read(&self.error_log).unwrap_or_default()).into_owned()
    }

    /// The access log's current contents (lossy UTF-8).
    pub fn access_log_text(&self) -> String {
        String::from_utf8_lossy(&fs::read(&self.access_log).unwrap_or_default()).into_owned()
    }

    /// Wait until the access log holds at least `lines` lines (nginx writes
    /// it when a request finishes, which may be just after the client got
    /// its response).
    pub fn wait_access_lines(&self, lines: usize, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if self.access_log_text().lines().count() >= lines {
                return true;
            }
            if Instant::now() > deadline {
                return false;
            }
            sleep(Duration::from_millis(10));
        }
    }

    /// Reload the config (SIGHUP), as `nginx -s reload` would.
    pub fn reload(&self) -> bool {
        signal(self.child.id(), libc::SIGHUP)
    }

    /// Stop nginx now (graceful SIGQUIT, then SIGKILL after 5 s).
    pub fn stop(mut self) {
        stop_child(&mut self.child, libc::SIGQUIT, Duration::from_secs(5));
    }

    fn wait_ready(&mut self, timeout: Duration) -> io::Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait()? {
                let stderr =
                    fs::read_to_string(self.prefix().join("logs/stderr.log")).unwrap_or_default();
                return Err(io::Error::other(format!(
                    "nginx exited ({status}) before listening: {}{}",
                    stderr.trim(),
                    self.error_log_text().trim()
                )));
            }
            if TcpStream::connect_timeout(&self.addr(), Duration::from_millis(100)).is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(io::Error::other("nginx did not listen in time"));
            }
            sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        stop_child(&mut self.child, libc::SIGQUIT, Duration::from_secs(5));
    }
}
