//! Application servers nginx usually proxies to (gunicorn, uWSGI, uvicorn,
//! node, java) found among the processes, with the addresses their command
//! lines (and uWSGI ini files) say they bind. Compare with the real
//! listeners: "gunicorn was told `-b 127.0.0.1:8001`, nginx points at
//! :8000". PHP-FPM has its own module.

use std::path::PathBuf;

use serde::Serialize;

use crate::proc::Process;
use crate::time::UnixMillis;

/// Which application server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BackendKind {
    /// Python gunicorn (HTTP).
    Gunicorn,
    /// uWSGI (uwsgi protocol on `--socket`, HTTP on `--http-socket`).
    Uwsgi,
    /// Python uvicorn (HTTP).
    Uvicorn,
    /// Node.js (HTTP, port usually from code or `PORT`).
    Node,
    /// A JVM (Spring Boot, Jetty, Tomcat…).
    Java,
}

/// What protocol a bind speaks, when the option says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BindProtocol {
    /// HTTP (`proxy_pass`).
    Http,
    /// The uwsgi protocol (`uwsgi_pass`).
    Uwsgi,
    /// FastCGI (`fastcgi_pass`).
    Fastcgi,
    /// HTTPS.
    Https,
}

/// An address to bind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Bind {
    /// TCP: host (`None` for all addresses) and port.
    Tcp {
        /// Address or host name.
        host: Option<String>,
        /// Port.
        port: u16,
    },
    /// A unix socket path.
    Unix {
        /// The path.
        path: PathBuf,
    },
    /// An inherited descriptor (`fd://3`, systemd socket activation).
    Fd {
        /// The descriptor number.
        fd: u32,
    },
}

/// A bind address a backend was configured with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeclaredBind {
    /// The text as given (`127.0.0.1:8000`, `unix:/run/app.sock`).
    pub raw: String,
    /// Interpreted, when the text was understood.
    pub bind: Option<Bind>,
    /// The protocol the option implies.
    pub protocol: BindProtocol,
    /// Where it came from: `cmdline`, `default` (none given), `env:PORT`,
    /// or the ini file's path.
    pub source: String,
}

/// One application server (the master; workers are counted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BackendProcess {
    /// The master's pid.
    pub pid: u32,
    /// Which server.
    pub kind: BackendKind,
    /// The command line, joined by spaces.
    pub command: String,
    /// The effective user's name or uid.
    pub user: String,
    /// When the master started (a recent start after 502s suggests a
    /// crash and restart).
    pub started: Option<UnixMillis>,
    /// Children of the same kind (worker processes).
    pub workers: usize,
    /// What it was told to bind.
    pub binds: Vec<DeclaredBind>,
    /// A config file that may set more binds than the command line shows
    /// (gunicorn `-c`), unread.
    pub config_file: Option<PathBuf>,
    /// The ini file to read for binds (uWSGI `--ini`), if any.
    pub ini_file: Option<PathBuf>,
    /// Listening sockets this process or its workers actually hold
    /// (`127.0.0.1:8000`, `unix:/run/app.sock`), filled from socket owners.
    pub listening: Vec<String>,
}

const INTERPRETERS: &[&str] = &["python", "python2", "python3", "pypy", "pypy3"];

fn is_python(p: &str) -> bool {
    INTERPRETERS.contains(&p)
        || (p.starts_with("python3.") && p[8..].bytes().all(|b| b.is_ascii_digit()))
}

fn base(s: &str) -> &str {
    s.rsplit('/').next().unwrap_or(s)
}

/// Which application server a process is, from its command line.
pub fn backend_kind(p: &Process) -> Option<BackendKind> {
    let args = &p.cmdline;
    let title = args.first().map_or("", String::as_str);
    // setproctitle forms: "gunicorn: master [app]", "uWSGI master".
    if title.starts_with("gunicorn: ") {
        return Some(BackendKind::Gunicorn);
    }
    if title.starts_with("uWSGI ") {
        return Some(BackendKind::Uwsgi);
    }
    let prog = base(title.split(' ').next().unwrap_or(""));
    let by_name = |name: &str| match name {
        "gunicorn" => Some(BackendKind::Gunicorn),
        "uwsgi" => Some(BackendKind::Uwsgi),
        "uvicorn" => Some(BackendKind::Uvicorn),
        _ => None,
    };
    if let Some(k) = by_name(prog) {
        return Some(k);
    }
    if prog.starts_with("uwsgi") {
        return Some(BackendKind::Uwsgi);
    }
    if is_python(prog) {
        let mut it = args.iter().skip(1).map(String::as_str);
        while let Some(a) = it.next() {
            if a == "-m" {
                return it.next().and_then(by_name);
            }
            if !a.starts_with('-') {
                return by_name(base(a));
            }
        }
        return None;
    }
    match prog {
        "node" | "nodejs" => Some(BackendKind::Node),
        "java" => Some(BackendKind::Java),
        _ => None,
    }
}

/// `HOST:PORT`, `[V6]:PORT`, `:PORT`, `PORT`, `unix:PATH`, `/path`,
/// `fd://N`.
pub fn parse_bind(v: &str) -> Option<Bind> {
    let v = v.trim();
    if let Some(path) = v.strip_prefix("unix:") {
        return Some(Bind::Unix { path: path.into() });
    }
    if v.starts_with('/') || v.starts_with("./") {
        return Some(Bind::Unix { path: v.into() });
    }
    if let Some(fd) = v.strip_prefix("fd://") {
        return fd.parse().ok().map(|fd| Bind::Fd { fd });
    }
    // uWSGI appends options after a comma (`:8000,foo`).
    let v = v.split(',').next().unwrap_or(v);
    match v.rsplit_once(':') {
        Some((host, port)) => Some(Bind::Tcp {
            host: Some(
                host.trim_start_matches('[')
                    .trim_end_matches(']')
                    .to_string(),
            )
            .filter(|h| !h.is_empty() && h != "*"),
            port: port.parse().ok()?,
        }),
        None => v.parse().ok().map(|port| Bind::Tcp { host: None, port }),
    }
}

/// Options and their values, accepting `--opt value`, `--opt=value` and
/// `-o value`.
fn options(args: &[String]) -> Vec<(&str, &str)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        if let Some((k, v)) = a.split_once('=').filter(|(k, _)| k.starts_with('-')) {
            out.push((k, v));
        } else if a.starts_with('-') {
            let v = args.get(i + 1).map_or("", String::as_str);
            out.push((a, v));
        }
        i += 1;
    }
    out
}

fn declared(raw: &str, protocol: BindProtocol, source: &str) -> DeclaredBind {
    DeclaredBind {
        raw: raw.to_string(),
        bind: parse_bind(raw),
        protocol,
        source: source.to_string(),
    }
}

/// The binds a command line declares, plus a config or ini file to look at.
pub fn declared_binds(
    kind: BackendKind,
    args: &[String],
) -> (Vec<DeclaredBind>, Option<PathBuf>, Option<PathBuf>) {
    let opts = options(args);
    let mut binds = Vec::new();
    let (mut config, mut ini) = (None, None);
    let cmd = "cmdline";
    match kind {
        BackendKind::Gunicorn => {
            for (k, v) in &opts {
                match *k {
                    "-b" | "--bind" => binds.push(declared(v, BindProtocol::Http, cmd)),
                    "-c" | "--config" => config = Some(PathBuf::from(v)),
                    _ => {}
                }
            }
            if binds.is_empty() && config.is_none() {
                binds.push(declared("127.0.0.1:8000", BindProtocol::Http, "default"));
            }
        }
        BackendKind::Uwsgi => {
            for (k, v) in &opts {
                if let Some(p) = uwsgi_protocol(k.trim_start_matches('-')) {
                    binds.push(declared(v, p, cmd));
                } else if *k == "--ini" {
                    ini = Some(PathBuf::from(v));
                }
            }
            if ini.is_none() {
                ini = args
                    .iter()
                    .skip(1)
                    .find(|a| a.ends_with(".ini") && !a.starts_with('-'))
                    .map(PathBuf::from);
            }
        }
        BackendKind::Uvicorn => {
            let get = |name: &str| opts.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
            if let Some(uds) = get("--uds") {
                binds.push(declared(uds, BindProtocol::Http, cmd));
            } else if let Some(fd) = get("--fd") {
                binds.push(declared(&format!("fd://{fd}"), BindProtocol::Http, cmd));
            } else {
                let host = get("--host").unwrap_or("127.0.0.1");
                let port = get("--port").unwrap_or("8000");
                let src = if get("--host").or(get("--port")).is_some() {
                    cmd
                } else {
                    "default"
                };
                let host = if host.contains(':') {
                    format!("[{host}]")
                } else {
                    host.to_string()
                };
                binds.push(declared(&format!("{host}:{port}"), BindProtocol::Http, src));
            }
        }
        BackendKind::Java => {
            let prop = |name: &str| {
                args.iter().find_map(|a| {
                    a.strip_prefix("-D")
                        .or_else(|| a.strip_prefix("--"))
                        .and_then(|a| a.strip_prefix(name))
                        .and_then(|a| a.strip_prefix('='))
                })
            };
            for key in [
                "server.port",
                "jetty.http.port",
                "jetty.port",
                "quarkus.http.port",
                "http.port",
            ] {
                if let Some(port) = prop(key) {
                    let host = prop("server.address").unwrap_or("");
                    binds.push(declared(&format!("{host}:{port}"), BindProtocol::Http, cmd));
                    break;
                }
            }
        }
        BackendKind::Node => {
            for (k, v) in &opts {
                if *k == "--port" {
                    binds.push(declared(v, BindProtocol::Http, cmd));
                }
            }
        }
    }
    (binds, config, ini)
}

fn uwsgi_protocol(opt: &str) -> Option<BindProtocol> {
    Some(match opt {
        "socket" | "s" | "uwsgi-socket" | "shared-socket" => BindProtocol::Uwsgi,
        "http" | "http-socket" => BindProtocol::Http,
        "https" | "https-socket" => BindProtocol::Https,
        "fastcgi-socket" => BindProtocol::Fastcgi,
        _ => return None,
    })
}

/// Binds in a uWSGI ini file's `[uwsgi]` section (`socket = …`,
/// `http-socket = …`). Tolerant: other sections and lines are ignored.
pub fn uwsgi_ini_binds(text: &str, source: &str) -> Vec<DeclaredBind> {
    let mut in_uwsgi = false;
    let mut out = Vec::new();
    for line in text.lines() {
        let l = line.trim();
        if let Some(sec) = l.strip_prefix('[') {
            in_uwsgi = sec.trim_end_matches(']').trim() == "uwsgi";
            continue;
        }
        if !in_uwsgi || l.starts_with(';') || l.starts_with('#') {
            continue;
        }
        if let Some((k, v)) = l.split_once('=')
            && let Some(p) = uwsgi_protocol(k.trim())
        {
            out.push(declared(v.trim(), p, source));
        }
    }
    out
}

/// `PORT` and `HOST` from a process's `environ` (NUL-separated). Nothing
/// else is kept.
pub fn env_bind(environ: &[u8]) -> Option<String> {
    let mut port = None;
    let mut host = None;
    for var in environ.split(|&b| b == 0) {
        if let Some(v) = var.strip_prefix(b"PORT=") {
            port = std::str::from_utf8(v)
                .ok()
                .filter(|v| v.parse::<u16>().is_ok());
        } else if let Some(v) = var.strip_prefix(b"HOST=") {
            host = std::str::from_utf8(v).ok();
        }
    }
    port.map(|p| format!("{}:{p}", host.unwrap_or("")))
}

/// Application servers among `processes`: one entry per master, workers
/// (children of the same kind) counted.
pub fn find_backends(processes: &[Process]) -> Vec<BackendProcess> {
    let kinds: Vec<(usize, BackendKind)> = processes
        .iter()
        .enumerate()
        .filter_map(|(i, p)| backend_kind(p).map(|k| (i, k)))
        .collect();
    let kind_of = |pid: u32| {
        kinds
            .iter()
            .find(|(i, _)| processes[*i].pid == pid)
            .map(|(_, k)| *k)
    };
    let mut out: Vec<BackendProcess> = Vec::new();
    for &(i, kind) in &kinds {
        let p = &processes[i];
        if kind_of(p.ppid) == Some(kind) {
            continue;
        }
        let (binds, config_file, ini_file) = declared_binds(kind, &p.cmdline);
        out.push(BackendProcess {
            pid: p.pid,
            kind,
            command: p.cmdline.join(" "),
            user: p.user.clone().unwrap_or_else(|| p.euid.to_string()),
            started: p.start_time,
            workers: kinds
                .iter()
                .filter(|(j, k)| *k == kind && processes[*j].ppid == p.pid)
                .count(),
            binds,
            config_file,
            ini_file,
            listening: Vec::new(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proc_with(pid: u32, ppid: u32, args: &[&str]) -> Process {
        Process {
            pid,
            ppid,
            comm: String::new(),
            state: 'S',
            cmdline: args.iter().map(|s| s.to_string()).collect(),
            exe: None,
            uid: 33,
            euid: 33,
            gid: 33,
            egid: 33,
            groups: vec![],
            user: Some("www-data".into()),
            start_ticks: 0,
            start_time: None,
            threads: 1,
            rss_kb: None,
            nofile: None,
            open_fds: None,
            gaps: vec![],
        }
    }

    #[test]
    fn gunicorn_master_and_workers() {
        let ps = vec![
            proc_with(
                10,
                1,
                &[
                    "/usr/bin/python3",
                    "/usr/bin/gunicorn",
                    "-b",
                    "127.0.0.1:8001",
                    "--bind=unix:/run/app.sock",
                    "app:app",
                ],
            ),
            proc_with(
                11,
                10,
                &[
                    "/usr/bin/python3",
                    "/usr/bin/gunicorn",
                    "-b",
                    "127.0.0.1:8001",
                    "app:app",
                ],
            ),
            proc_with(
                12,
                10,
                &[
                    "/usr/bin/python3",
                    "/usr/bin/gunicorn",
                    "-b",
                    "127.0.0.1:8001",
                    "app:app",
                ],
            ),
            proc_with(
                20,
                1,
                &["python3", "-m", "uvicorn", "main:app", "--port", "9000"],
            ),
            proc_with(
                30,
                1,
                &[
                    "uwsgi",
                    "--ini",
                    "/etc/uwsgi/app.ini",
                    "--http-socket",
                    ":8080",
                ],
            ),
            proc_with(40, 1, &["java", "-Dserver.port=8081", "-jar", "app.jar"]),
            proc_with(50, 1, &["/usr/bin/python3", "manage.py", "runserver"]),
            proc_with(60, 1, &["gunicorn: master [app:app]"]),
        ];
        let b = find_backends(&ps);
        assert_eq!(b.len(), 5, "{b:#?}");
        assert_eq!(b[0].kind, BackendKind::Gunicorn);
        assert_eq!(b[0].workers, 2);
        assert_eq!(
            b[0].binds[0].bind,
            Some(Bind::Tcp {
                host: Some("127.0.0.1".into()),
                port: 8001
            })
        );
        assert_eq!(
            b[0].binds[1].bind,
            Some(Bind::Unix {
                path: "/run/app.sock".into()
            })
        );
        assert_eq!(b[1].kind, BackendKind::Uvicorn);
        assert_eq!(b[1].binds[0].raw, "127.0.0.1:9000");
        assert_eq!(b[2].kind, BackendKind::Uwsgi);
        assert_eq!(b[2].binds[0].protocol, BindProtocol::Http);
        assert_eq!(b[2].ini_file, Some(PathBuf::from("/etc/uwsgi/app.ini")));
        assert_eq!(b[3].binds[0].raw, ":8081");
        assert_eq!(b[4].binds[0].source, "default");
    }

    #[test]
    fn ini_env_and_bind_forms() {
        let ini = "[uwsgi]\nsocket = /run/uwsgi/app.sock\nhttp-socket = 127.0.0.1:9090\n[other]\nsocket = :1\n";
        let b = uwsgi_ini_binds(ini, "/etc/uwsgi/app.ini");
        assert_eq!(b.len(), 2);
        assert_eq!(b[0].protocol, BindProtocol::Uwsgi);
        assert_eq!(
            env_bind(b"A=1\0PORT=3000\0SECRET=x\0"),
            Some(":3000".into())
        );
        assert_eq!(env_bind(b"PORT=x\0"), None);
        assert_eq!(parse_bind("fd://3"), Some(Bind::Fd { fd: 3 }));
        assert_eq!(
            parse_bind("[::1]:8000"),
            Some(Bind::Tcp {
                host: Some("::1".into()),
                port: 8000
            })
        );
        assert_eq!(parse_bind("nonsense"), None);
    }
}
