//! A fault-injecting HTTP backend. Each [`Fault`] reproduces one way a real
//! backend makes nginx answer 502/504: refusing, closing or resetting
//! mid-request, answering too slowly, with oversized or invalid headers,
//! with broken chunking, dropping reused keep-alive connections, crashing,
//! or speaking only TLS. It runs in-process ([`Backend::start`]) or as its
//! own process (`badgateway lab-backend`, so a crash really ends a process).
//!
//! Plain threads, one per connection: the lab serves a handful of requests.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::Duration;

/// How the backend misbehaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// A well-behaved HTTP/1.1 server (keep-alive, `200 ok`) that waits
    /// patiently for a request's blank line, whatever the bytes.
    Ok,
    /// Like `Ok`, but bytes that do not start with an HTTP method get a
    /// `400 Bad Request` and a close, as nginx or gunicorn answer a TLS
    /// ClientHello or a FastCGI record.
    Strict,
    /// Answers every request with this status (its own 502/503/504 page).
    Status(u16),
    /// Reads the request, then closes without answering.
    Close,
    /// Reads the request, then resets the connection (SO_LINGER 0).
    Reset,
    /// Waits this long before answering.
    Slow(Duration),
    /// Answers with a header block of about this many bytes.
    HugeHeaders(usize),
    /// Answers with a header line holding a control byte.
    InvalidHeader,
    /// Answers `Transfer-Encoding: chunked` with a body that is not chunked.
    BadChunked,
    /// Answers HTTP/1.0-style garbage with no status line (raw bytes).
    Garbage,
    /// Serves the first request of each connection with keep-alive, then
    /// closes the connection when the next request arrives on it: what a
    /// backend with a short idle timeout does to nginx's reused connection.
    KeepaliveDrop,
    /// Serves this many requests normally, then exits the whole process
    /// while holding the next request (a crash mid-request).
    CrashAfter(u64),
    /// Never accepts, with a full listen queue: TCP SYNs go unanswered
    /// (connect times out), unix-socket connects fail with EAGAIN.
    Blackhole,
    /// Speaks HTTPS only: a TLS handshake with a self-signed certificate for
    /// [`LAB_TLS_NAME`](crate::certs::LAB_TLS_NAME) and 127.0.0.1 (made by
    /// the `openssl` CLI at start), then HTTP like `Ok`.
    Tls,
}

impl FromStr for Fault {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (name, arg) = s.split_once(':').unwrap_or((s, ""));
        let num = |what: &str| {
            arg.parse::<u64>()
                .map_err(|_| format!("fault {name}: expected {what} after ':', got {arg:?}"))
        };
        Ok(match name {
            "ok" => Fault::Ok,
            "strict" => Fault::Strict,
            "status" => Fault::Status(u16::try_from(num("a status")?).map_err(|e| e.to_string())?),
            "close" => Fault::Close,
            "reset" => Fault::Reset,
            "slow" => Fault::Slow(Duration::from_millis(num("milliseconds")?)),
            "huge-headers" => {
                Fault::HugeHeaders(usize::try_from(num("bytes")?).map_err(|e| e.to_string())?)
            }
            "invalid-header" => Fault::InvalidHeader,
            "bad-chunked" => Fault::BadChunked,
            "garbage" => Fault::Garbage,
            "keepalive-drop" => Fault::KeepaliveDrop,
            "crash-after" => Fault::CrashAfter(num("a request count")?),
            "blackhole" => Fault::Blackhole,
            "tls" => Fault::Tls,
            _ => {
                return Err(format!(
                    "unknown fault {s:?} (ok, strict, status:N, close, reset, slow:MS, huge-headers:BYTES, \
                     invalid-header, bad-chunked, garbage, keepalive-drop, crash-after:N, blackhole, tls)"
                ));
            }
        })
    }
}

/// Where the backend listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listen {
    /// A TCP address.
    Tcp(SocketAddr),
    /// A unix-domain socket path.
    Unix(PathBuf),
}

impl FromStr for Listen {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some(p) = s.strip_prefix("unix:") {
            return Ok(Listen::Unix(PathBuf::from(p)));
        }
        s.parse()
            .map(Listen::Tcp)
            .map_err(|_| format!("listen address {s:?}: expected IP:PORT or unix:/path"))
    }
}

/// A running in-process backend; stops accepting when dropped.
pub struct Backend {
    /// The address it listens on (the real port when asked for port 0).
    pub listen: Listen,
    stop: Arc<AtomicBool>,
    /// Requests received so far.
    pub requests: Arc<AtomicU64>,
    /// For [`Fault::Tls`]: the certificate it presents (DER).
    certificate: Option<Vec<u8>>,
    /// For [`Fault::Blackhole`]: the never-accepting listener and the
    /// connections that fill its queue.
    _hole: Option<Blackhole>,
}

/// A listener whose queue is full.
struct Blackhole {
    _listener: Box<dyn std::any::Any + Send>,
    _fillers: Vec<Box<dyn std::any::Any + Send>>,
}

enum Conn {
    Tcp(TcpStream),
    Unix(UnixStream),
    Tls(Box<rustls::StreamOwned<rustls::ServerConnection, Conn>>),
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Conn::Tcp(s) => s.read(buf),
            Conn::Unix(s) => s.read(buf),
            Conn::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Conn::Tcp(s) => s.write(buf),
            Conn::Unix(s) => s.write(buf),
            Conn::Tls(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Conn::Tls(s) => s.flush(),
            _ => Ok(()),
        }
    }
}

impl Backend {
    /// Bind and serve in background threads.
    pub fn start(listen: &Listen, fault: Fault) -> io::Result<Backend> {
        if fault == Fault::Blackhole {
            return blackhole(listen);
        }
        let (tls, certificate) = match fault {
            Fault::Tls => {
                let (config, cert) = tls_config()?;
                (Some(config), Some(cert))
            }
            _ => (None, None),
        };
        let stop = Arc::new(AtomicBool::new(false));
        let requests = Arc::new(AtomicU64::new(0));
        let fault = Arc::new(fault);
        let (bound, acceptor): (Listen, Box<dyn FnMut() -> io::Result<Conn> + Send>) = match listen
        {
            Listen::Tcp(addr) => {
                let l = TcpListener::bind(addr)?;
                let bound = Listen::Tcp(l.local_addr()?);
                (
                    bound,
                    Box::new(move || l.accept().map(|(s, _)| Conn::Tcp(s))),
                )
            }
            Listen::Unix(path) => {
                let _ = std::fs::remove_file(path);
                let l = UnixListener::bind(path)?;
                (
                    listen.clone(),
                    Box::new(move || l.accept().map(|(s, _)| Conn::Unix(s))),
                )
            }
        };
        let mut accept = acceptor;
        let (stop2, req2) = (stop.clone(), requests.clone());
        thread::spawn(move || {
            while !stop2.load(Ordering::Relaxed) {
                let Ok(conn) = accept() else { continue };
                if stop2.load(Ordering::Relaxed) {
                    break;
                }
                let (fault, req, tls) = (fault.clone(), req2.clone(), tls.clone());
                thread::spawn(move || {
                    let conn = match tls {
                        Some(config) => match rustls::ServerConnection::new(config) {
                            Ok(c) => Conn::Tls(Box::new(rustls::StreamOwned::new(c, conn))),
                            Err(_) => return,
                        },
                        None => conn,
                    };
                    let _ = serve(conn, &fault, &req);
                });
            }
        });
        Ok(Backend {
            listen: bound,
            stop,
            requests,
            certificate,
            _hole: None,
        })
    }

    /// Serve forever in this thread (for the `lab-backend` process).
    pub fn run(listen: &Listen, fault: Fault) -> io::Result<()> {
        let _b = Backend::start(listen, fault)?;
        loop {
            thread::park();
        }
    }

    /// The certificate a [`Fault::Tls`] backend presents (DER).
    pub fn certificate(&self) -> Option<&[u8]> {
        self.certificate.as_deref()
    }

    /// The TCP address, for TCP backends.
    pub fn addr(&self) -> Option<SocketAddr> {
        match self.listen {
            Listen::Tcp(a) => Some(a),
            Listen::Unix(_) => None,
        }
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        if self._hole.is_some() {
            // nothing accepts; a blocking connect would hang
            if let Listen::Unix(p) = &self.listen {
                let _ = std::fs::remove_file(p);
            }
            return;
        }
        self.stop.store(true, Ordering::Relaxed);
        // wake the acceptor so it sees the flag
        match &self.listen {
            Listen::Tcp(a) => {
                let _ = TcpStream::connect_timeout(a, Duration::from_millis(200));
            }
            Listen::Unix(p) => {
                let _ = UnixStream::connect(p);
                let _ = std::fs::remove_file(p);
            }
        }
    }
}

/// Read one request head (and its Content-Length body). `None` at EOF.
fn read_request(conn: &mut Conn, buf: &mut Vec<u8>) -> io::Result<Option<Vec<u8>>> {
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = buf[..end + 4].to_vec();
            let text = String::from_utf8_lossy(&head).to_ascii_lowercase();
            let body_len: usize = text
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            while buf.len() < end + 4 + body_len {
                let mut chunk = [0u8; 8192];
                let n = conn.read(&mut chunk)?;
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            let consumed = (end + 4 + body_len).min(buf.len());
            buf.drain(..consumed);
            return Ok(Some(head));
        }
        let mut chunk = [0u8; 8192];
        let n = conn.read(&mut chunk)?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn response(status: u16, extra: &str, body: &str) -> String {
    let reason = match status {
        200 => "OK",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    };
    format!(
        "HTTP/1.1 {status} {reason}\r\nServer: badgateway-lab\r\nContent-Type: text/plain\r\n\
         Content-Length: {}\r\n{extra}\r\n{body}",
        body.len()
    )
}

fn serve(mut conn: Conn, fault: &Fault, requests: &AtomicU64) -> io::Result<()> {
    let mut buf = Vec::new();
    if *fault == Fault::Strict {
        let mut first = [0u8; 1];
        let n = conn.read(&mut first)?;
        if n == 0 {
            return Ok(());
        }
        if !first[0].is_ascii_uppercase() {
            conn.write_all(b"HTTP/1.1 400 Bad Request\r\nServer: badgateway-lab\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")?;
            return Ok(());
        }
        buf.push(first[0]);
    }
    let mut on_this_conn = 0u64;
    while let Some(_head) = read_request(&mut conn, &mut buf)? {
        let n = requests.fetch_add(1, Ordering::SeqCst) + 1;
        on_this_conn += 1;
        match fault {
            Fault::Ok | Fault::Strict | Fault::Tls => {
                conn.write_all(response(200, "", "ok\n").as_bytes())?
            }
            Fault::Status(code) => {
                conn.write_all(response(*code, "", "backend error page\n").as_bytes())?
            }
            Fault::Close => return Ok(()),
            Fault::Reset => {
                if let Conn::Tcp(s) = &conn {
                    let _ = socket_linger_zero(s);
                }
                return Ok(());
            }
            Fault::Slow(d) => {
                thread::sleep(*d);
                conn.write_all(response(200, "", "slow ok\n").as_bytes())?;
            }
            Fault::HugeHeaders(size) => {
                let cookie = format!("Set-Cookie: session={}\r\n", "x".repeat(*size));
                conn.write_all(response(200, &cookie, "ok\n").as_bytes())?;
            }
            Fault::InvalidHeader => {
                conn.write_all(response(200, "X-Bad\x01: yes\r\n", "ok\n").as_bytes())?
            }
            Fault::BadChunked => {
                conn.write_all(
                    b"HTTP/1.1 200 OK\r\nServer: badgateway-lab\r\nTransfer-Encoding: chunked\r\n\r\nnot chunked at all\r\n",
                )?;
                return Ok(());
            }
            Fault::Garbage => {
                conn.write_all(b"\x15\x03\x01\x00\x02\x02\x0a not http\n")?;
                return Ok(());
            }
            Fault::KeepaliveDrop => {
                if on_this_conn > 1 {
                    return Ok(());
                }
                conn.write_all(response(200, "Connection: keep-alive\r\n", "ok\n").as_bytes())?;
            }
            Fault::Blackhole => return Ok(()),
            Fault::CrashAfter(limit) => {
                if n > *limit {
                    // hold the request, then die: nginx sees the connection close
                    thread::sleep(Duration::from_millis(50));
                    std::process::exit(70);
                }
                conn.write_all(response(200, "", "ok\n").as_bytes())?;
            }
        }
    }
    Ok(())
}

/// Lab sockets accept anyone (nginx's worker often runs as another user);
/// permission scenarios use PHP-FPM's own `listen.mode`.
fn world_connectable(path: &std::path::Path) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o666))
}

/// Bind, shrink the accept queue to nothing (a second `listen(2)` adjusts the
/// backlog) and fill it, so new connections are never completed.
fn blackhole(listen: &Listen) -> io::Result<Backend> {
    use std::os::fd::AsRawFd;
    let shrink = |fd: i32| {
        // SAFETY: listen(2) on a socket we own.
        if unsafe { libc::listen(fd, 0) } == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    };
    let (bound, hole) = match listen {
        Listen::Tcp(addr) => {
            let l = TcpListener::bind(addr)?;
            shrink(l.as_raw_fd())?;
            let bound = l.local_addr()?;
            let mut fillers: Vec<Box<dyn std::any::Any + Send>> = Vec::new();
            for _ in 0..4 {
                match TcpStream::connect_timeout(&bound, Duration::from_millis(300)) {
                    Ok(s) => fillers.push(Box::new(s)),
                    Err(_) => break,
                }
            }
            (
                Listen::Tcp(bound),
                Blackhole {
                    _listener: Box::new(l),
                    _fillers: fillers,
                },
            )
        }
        Listen::Unix(path) => {
            let _ = std::fs::remove_file(path);
            let l = UnixListener::bind(path)?;
            world_connectable(path)?;
            shrink(l.as_raw_fd())?;
            let mut fillers: Vec<Box<dyn std::any::Any + Send>> = Vec::new();
            for _ in 0..8 {
                let s = socket2::Socket::new(socket2::Domain::UNIX, socket2::Type::STREAM, None)?;
                s.set_nonblocking(true)?;
                match s.connect(&socket2::SockAddr::unix(path)?) {
                    Ok(()) => fillers.push(Box::new(s)),
                    Err(_) => break,
                }
            }
            (
                listen.clone(),
                Blackhole {
                    _listener: Box::new(l),
                    _fillers: fillers,
                },
            )
        }
    };
    Ok(Backend {
        listen: bound,
        stop: Arc::new(AtomicBool::new(true)),
        requests: Arc::new(AtomicU64::new(0)),
        certificate: None,
        _hole: Some(hole),
    })
}

/// A rustls server config with a fresh self-signed certificate (made in a
/// temporary directory that is gone once the key is loaded), and that
/// certificate in DER.
fn tls_config() -> io::Result<(Arc<rustls::ServerConfig>, Vec<u8>)> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let dir = tempfile::tempdir()?;
    let files = crate::certs::self_signed(dir.path(), crate::certs::LAB_TLS_NAME)?;
    let pem = |e: rustls::pki_types::pem::Error| io::Error::other(format!("lab certificate: {e}"));
    let cert = CertificateDer::from_pem_file(&files.cert).map_err(pem)?;
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(pem)?;
    let der = cert.to_vec();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|b| b.with_no_client_auth().with_single_cert(vec![cert], key))
        .map_err(|e| io::Error::other(format!("lab TLS config: {e}")))?;
    Ok((Arc::new(config), der))
}

fn socket_linger_zero(s: &TcpStream) -> io::Result<()> {
    // SO_LINGER with a zero timeout makes close() send RST.
    s.set_linger_zero()
}

trait LingerZero {
    fn set_linger_zero(&self) -> io::Result<()>;
}

impl LingerZero for TcpStream {
    fn set_linger_zero(&self) -> io::Result<()> {
        use std::os::fd::AsRawFd;
        let linger = libc::linger {
            l_onoff: 1,
            l_linger: 0,
        };
        // SAFETY: setsockopt on a valid fd we own, with a correctly sized struct.
        let rc = unsafe {
            libc::setsockopt(
                self.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_LINGER,
                (&raw const linger).cast(),
                std::mem::size_of::<libc::linger>() as libc::socklen_t,
            )
        };
        if rc == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }
}

/// The backend as its own process (`EXE lab-backend LISTEN FAULT`), so a
/// crash ends a real process. Stopped by pid when dropped.
pub struct BackendProcess {
    child: std::process::Child,
    /// Where it listens.
    pub listen: Listen,
}

impl BackendProcess {
    /// Start `exe lab-backend` (normally the badgateway binary itself) and
    /// wait until it accepts connections.
    pub fn spawn(
        exe: &std::path::Path,
        listen: &Listen,
        fault: &str,
    ) -> io::Result<BackendProcess> {
        let arg = match listen {
            Listen::Tcp(a) => a.to_string(),
            Listen::Unix(p) => format!("unix:{}", p.display()),
        };
        let child = std::process::Command::new(exe)
            .args(["lab-backend", &arg, fault])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .spawn()?;
        let mut me = BackendProcess {
            child,
            listen: listen.clone(),
        };
        for _ in 0..500 {
            let up = match listen {
                Listen::Tcp(a) => TcpStream::connect_timeout(a, Duration::from_millis(50)).is_ok(),
                Listen::Unix(p) => UnixStream::connect(p).is_ok(),
            };
            if up {
                return Ok(me);
            }
            if let Some(status) = me.child.try_wait()? {
                return Err(io::Error::other(format!("lab-backend exited: {status}")));
            }
            thread::sleep(Duration::from_millis(10));
        }
        Err(io::Error::other("lab-backend did not start listening"))
    }

    /// Its pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether it has exited (e.g. after `crash-after:N`), waiting up to
    /// `within` for it to do so.
    pub fn exited(&mut self, within: Duration) -> bool {
        let deadline = std::time::Instant::now() + within;
        loop {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return true;
            }
            if std::time::Instant::now() >= deadline {
                return false;
            }
            thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for BackendProcess {
    fn drop(&mut self) {
        crate::proc::stop_child(&mut self.child, libc::SIGTERM, Duration::from_secs(2));
    }
}
