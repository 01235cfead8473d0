//! A recording backend for the routing tests: it answers every request with
//! 200 and a body holding the request line it received and the `X-Loc`
//! header nginx set, so a test sees exactly what nginx sent upstream. One
//! listens on a loopback TCP port, one on a unix socket; both stop when
//! dropped.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// Where a backend listens.
enum Addr {
    Tcp(std::net::SocketAddr),
    Unix(PathBuf),
}

/// A running recording backend.
pub struct Backend {
    addr: Addr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    _dir: Option<tempfile::TempDir>,
}

/// What the backend saw, parsed back out of a response body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// `tcp` or `unix`.
    pub via: String,
    /// The request target of the request line.
    pub target: String,
    /// The `X-Loc` header.
    pub tag: String,
}

fn answer(mut conn: impl Read + Write, via: &str) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        match conn.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let head = String::from_utf8_lossy(&buf).into_owned();
    let line = head.lines().next().unwrap_or_default().to_owned();
    let tag = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("x-loc").then(|| v.trim().to_owned())
        })
        .unwrap_or_default();
    let body = format!("BACKEND {via}\n{line}\n{tag}\n");
    let _ = write!(
        conn,
        "HTTP/1.0 200 OK\r\nContent-Length: {}\r\nContent-Type: text/plain\r\n\r\n{body}",
        body.len()
    );
}

impl Backend {
    /// Start on 127.0.0.1 with an ephemeral port.
    pub fn tcp() -> Backend {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind backend");
        let addr = l.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            for conn in l.incoming() {
                if flag.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(c) = conn {
                    let _ = c.set_read_timeout(Some(Duration::from_secs(5)));
                    answer(c, "tcp");
                }
            }
        });
        Backend {
            addr: Addr::Tcp(addr),
            stop,
            thread: Some(thread),
            _dir: None,
        }
    }

    /// Start on a unix socket in a fresh temporary directory that nginx's
    /// worker (possibly `nobody`) can reach.
    pub fn unix() -> Backend {
        let dir = tempfile::Builder::new()
            .prefix("bgw-route-")
            .tempdir()
            .unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let path = dir.path().join("backend.sock");
        let l = UnixListener::bind(&path).expect("bind unix backend");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o777)).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            for conn in l.incoming() {
                if flag.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(c) = conn {
                    let _ = c.set_read_timeout(Some(Duration::from_secs(5)));
                    answer(c, "unix");
                }
            }
        });
        Backend {
            addr: Addr::Unix(path),
            stop,
            thread: Some(thread),
            _dir: Some(dir),
        }
    }

    /// `127.0.0.1:port` or `unix:/path`, as nginx and `route` print it.
    pub fn address(&self) -> String {
        match &self.addr {
            Addr::Tcp(a) => a.to_string(),
            Addr::Unix(p) => format!("unix:{}", p.display()),
        }
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        match &self.addr {
            Addr::Tcp(a) => drop(TcpStream::connect(a)),
            Addr::Unix(p) => drop(UnixStream::connect(p)),
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Parse a body written by [`answer`].
pub fn seen(body: &[u8]) -> Option<Seen> {
    let text = String::from_utf8_lossy(body);
    let mut lines = text.lines();
    let via = lines.next()?.strip_prefix("BACKEND ")?.to_owned();
    let line = lines.next()?;
    let target = line.split(' ').nth(1)?.to_owned();
    let tag = lines.next().unwrap_or_default().to_owned();
    Some(Seen { via, target, tag })
}
