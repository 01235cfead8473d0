//! `badgateway probe` end to end: the SPEC JSON contract, exit statuses,
//! the text verdict first, neutralised peer text, and cross-checks against
//! a real nginx — what the probe says about a peer is what nginx logs when
//! it talks to the same peer.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::os::unix::fs::PermissionsExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use badgateway_lab::{NginxBuilder, free_port, http, require_nginx};
use serde_json::Value;
use socket2::{Domain, SockAddr, Socket, Type};

use crate::util::{badgateway, stderr, stdout};

/// A real HTTP server: Python's http.server on an ephemeral port.
struct PyHttp {
    child: Child,
    port: u16,
}

impl PyHttp {
    fn start() -> PyHttp {
        for _ in 0..3 {
            let port = free_port();
            let dir = std::env::temp_dir();
            let mut child = Command::new("python3")
                .args([
                    "-m",
                    "http.server",
                    "--bind",
                    "127.0.0.1",
                    &port.to_string(),
                ])
                .current_dir(dir)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("python3 runs");
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return PyHttp { child, port };
                }
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("python3 -m http.server did not start");
    }
}

impl Drop for PyHttp {
    fn drop(&mut self) {
        badgateway_lab::proc::stop_child(&mut self.child, SIGTERM, Duration::from_secs(3));
    }
}

/// SIGTERM on Linux.
const SIGTERM: i32 = 15;

/// An HTTP server that answers anything at once with a 400 (as many do
/// for binary garbage), with a `Server` header of our choosing.
fn eager_400(server: &'static str, conns: usize) -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::spawn(move || {
        for mut s in l.incoming().take(conns).flatten() {
            let mut buf = [0u8; 256];
            let _ = s.read(&mut buf);
            let _ = write!(
                s,
                "HTTP/1.1 400 Bad Request\r\nServer: {server}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
        }
    });
    addr
}

fn json(out: &std::process::Output) -> Value {
    serde_json::from_str(&stdout(out)).unwrap_or_else(|e| panic!("{e}: {}", stdout(out)))
}

#[test]
fn json_contract_fastcgi_to_a_real_http_server() {
    let py = PyHttp::start();
    let target = format!("fastcgi://127.0.0.1:{}", py.port);
    let o = badgateway(&["probe", &target, "--format", "json", "--timeout", "0.5"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let v = json(&o);
    assert_eq!(v["version"], 1);
    assert_eq!(v["target"], target.as_str());
    let a = &v["attempts"][0];
    assert_eq!(a["address"], format!("127.0.0.1:{}", py.port).as_str());
    assert_eq!(a["connect"], "ok");
    assert!(a["errno"].is_null());
    assert!(a["ms"].as_f64().is_some_and(|m| m >= 0.0));
    assert_eq!(v["protocol"], "http");
    assert_eq!(v["verdict"], "protocol-mismatch");
    assert_eq!(v["cause"], "protocol-mismatch");

    let o = badgateway(&["probe", &target, "--timeout", "0.5"]);
    let text = stdout(&o);
    assert!(
        text.starts_with("PROBLEM: nginx would speak FastCGI here, but the peer stays silent to it, and answers an HTTP/1.0 GET with HTTP/1.0 200 (Server: SimpleHTTP/"),
        "{text}"
    );
    assert!(
        text.lines()
            .next()
            .unwrap()
            .ends_with("→ protocol mismatch"),
        "{text}"
    );
}

#[test]
fn exit_statuses() {
    let py = PyHttp::start();
    let o = badgateway(&["probe", &format!("127.0.0.1:{}", py.port)]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(
        stdout(&o)
            .starts_with("OK: nginx would speak HTTP here, and the peer answers HTTP/1.0 200")
    );

    let dead = free_port();
    let o = badgateway(&["probe", &format!("127.0.0.1:{dead}"), "--format", "json"]);
    assert_eq!(o.status.code(), Some(1));
    let v = json(&o);
    assert_eq!(v["attempts"][0]["connect"], "refused");
    assert_eq!(v["attempts"][0]["errno"], 111);
    assert_eq!(v["protocol"], "unknown");

    for bad in ["fastcgi://127.0.0.1", "gopher://x:1", "::1:80", ""] {
        let o = badgateway(&["probe", bad]);
        assert_eq!(o.status.code(), Some(2), "{bad}");
        let err = stderr(&o);
        assert!(
            err.starts_with("badgateway: ") && err.lines().count() == 1,
            "{err}"
        );
        assert!(!err.contains("panicked"));
    }
    let o = badgateway(&["probe", "127.0.0.1:1", "--format", "sarif"]);
    assert_eq!(o.status.code(), Some(2));
    let o = badgateway(&["probe", "127.0.0.1:1", "--timeout", "-1"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn markdown_and_neutralised_peer_text() {
    let addr = eager_400("evil\x1b]0;owned\x07\x1b[2J", 8);
    let o = badgateway(&["probe", &format!("fastcgi://{addr}")]);
    let text = stdout(&o);
    assert!(!text.bytes().any(|b| b == 0x1b || b == 0x07), "{text:?}");
    assert!(text.contains("\\x1b]0;owned"), "{text}");
    assert!(
        text.contains("nginx would log: upstream sent unsupported FastCGI protocol version: 72")
    );
    let o = badgateway(&[
        "probe",
        &format!("fastcgi://{addr}"),
        "--format",
        "markdown",
    ]);
    let md = stdout(&o);
    assert!(md.starts_with("### Probe of `fastcgi://"), "{md}");
    assert!(md.contains("| address | connect | errno | ms | answer | verdict |"));
    assert!(!md.bytes().any(|b| b == 0x1b));
}

#[test]
fn nginx_agrees_fastcgi_to_http_is_version_72() {
    let Some(bin) = require_nginx() else { return };
    let backend = eager_400("gunicorn", 8);
    let nginx = NginxBuilder::new(
        bin,
        format!(
            "server {{ listen 127.0.0.1:@LISTEN@; server_name lab.example.com;
               location / {{ fastcgi_pass {backend}; include /etc/nginx/fastcgi_params; }} }}"
        ),
    )
    .start()
    .expect("nginx starts");
    let r = http::get(nginx.addr(), "/index.php").unwrap();
    assert_eq!(r.status, 502);
    assert!(nginx.wait_access_lines(1, Duration::from_secs(5)));
    let log = nginx.error_log_text();
    assert!(
        log.contains("upstream sent unsupported FastCGI protocol version: 72"),
        "{log}"
    );

    let o = badgateway(&["probe", &format!("fastcgi://{backend}"), "--format", "json"]);
    let v = json(&o);
    assert_eq!(
        (v["protocol"].as_str(), v["verdict"].as_str()),
        (Some("http"), Some("protocol-mismatch"))
    );
    assert_eq!(
        v["attempts"][0]["exchange"]["fastcgi"]["violation"],
        "upstream sent unsupported FastCGI protocol version: 72"
    );
}

#[test]
fn nginx_agrees_on_a_full_unix_backlog() {
    let Some(bin) = require_nginx() else { return };
    let dir = tempfile::Builder::new()
        .prefix("bgw-busy-")
        .tempdir()
        .unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = dir.path().join("busy.sock");
    let l = Socket::new(Domain::UNIX, Type::STREAM, None).unwrap();
    l.bind(&SockAddr::unix(&path).unwrap()).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
    l.listen(0).unwrap();
    let filler = Socket::new(Domain::UNIX, Type::STREAM, None).unwrap();
    filler.set_nonblocking(true).unwrap();
    filler.connect(&SockAddr::unix(&path).unwrap()).unwrap();

    let nginx = NginxBuilder::new(
        bin,
        format!(
            "server {{ listen 127.0.0.1:@LISTEN@; server_name lab.example.com;
               location / {{ fastcgi_pass unix:{}; include /etc/nginx/fastcgi_params; }} }}",
            path.display()
        ),
    )
    .start()
    .expect("nginx starts");
    let r = http::get(nginx.addr(), "/index.php").unwrap();
    assert_eq!(r.status, 502);
    assert!(nginx.wait_access_lines(1, Duration::from_secs(5)));
    let log = nginx.error_log_text();
    assert!(
        log.contains("(11: Resource temporarily unavailable)"),
        "{log}"
    );

    let o = badgateway(&[
        "probe",
        &format!("fastcgi://unix:{}", path.display()),
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let v = json(&o);
    assert_eq!(v["attempts"][0]["connect"], "again");
    assert_eq!(v["attempts"][0]["errno"], 11);
    assert_eq!(v["cause"], "backend-overloaded");
}

#[test]
fn nginx_agrees_the_worker_user_is_denied() {
    let Some(bin) = require_nginx() else { return };
    // Only root can run nginx's workers as `nobody` and own the socket.
    if !running_as_root() {
        eprintln!("skipping: needs root (nginx workers as nobody, a root-owned socket)");
        return;
    }
    let dir = tempfile::Builder::new()
        .prefix("bgw-perm-")
        .tempdir()
        .unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = dir.path().join("app.sock");
    let _listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o660)).unwrap();

    let nginx = NginxBuilder::new(
        bin,
        format!(
            "server {{ listen 127.0.0.1:@LISTEN@; server_name lab.example.com;
               location / {{ proxy_pass http://unix:{}:/; }} }}",
            path.display()
        ),
    )
    .main("user nobody nogroup;")
    .start()
    .expect("nginx starts");
    let r = http::get(nginx.addr(), "/").unwrap();
    assert_eq!(r.status, 502);
    assert!(nginx.wait_access_lines(1, Duration::from_secs(5)));
    let log = nginx.error_log_text();
    assert!(log.contains("(13: Permission denied)"), "{log}");

    let target = format!("unix:{}", path.display());
    let o = badgateway(&[
        "probe",
        &target,
        "--user",
        "nobody",
        "--group",
        "nogroup",
        "--format",
        "json",
        "--timeout",
        "0.3",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let v = json(&o);
    assert_eq!(v["verdict"], "worker-denied", "{v}");
    assert_eq!(v["cause"], "socket-permission");
    assert_eq!(v["worker"]["attempt"]["connect"], "permission-denied");
    assert_eq!(v["worker"]["attempt"]["errno"], 13);
    assert_eq!(v["worker"]["computed"]["denied_by"]["mode"], "0660");
}

fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(2) == Some("0"))
        })
        .unwrap_or(false)
}
