//! Connect outcomes with their raw errno, against real sockets: refused,
//! full TCP backlog (timeout), unix socket missing, stale, full backlog
//! (EAGAIN, as nginx's non-blocking connect sees it).

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::net::UnixListener;
use std::time::Duration;

use badgateway_cause::Cause;
use badgateway_probe::{ConnectOutcome, Verdict};
use socket2::{Domain, SockAddr, Socket, Type};

use crate::support::{dump, probe};

fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[test]
fn refused_keeps_errno_111() {
    let port = closed_port();
    let r = probe(&format!("127.0.0.1:{port}"), 1000);
    let a = &r.attempts[0];
    assert_eq!(a.connect, ConnectOutcome::Refused, "{}", dump(&r));
    assert_eq!(a.errno, Some(111));
    assert_eq!(a.errno_name, Some("ECONNREFUSED"));
    assert_eq!(r.verdict, Verdict::ConnectFailed);
    assert_eq!(r.cause, Some(Cause::UpstreamDown));
    assert!(
        r.summary.contains("(111: Connection refused)"),
        "{}",
        r.summary
    );
}

/// A listener with backlog 0 that never accepts, its queue filled: further
/// SYNs are dropped, exactly like a black-holed backend.
pub fn full_tcp_backlog() -> (Socket, Vec<Socket>, SocketAddr) {
    let l = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    l.bind(&SockAddr::from(
        "127.0.0.1:0".parse::<SocketAddr>().unwrap(),
    ))
    .unwrap();
    l.listen(0).unwrap();
    let addr = l.local_addr().unwrap().as_socket().unwrap();
    let mut fillers = Vec::new();
    for _ in 0..3 {
        let c = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
        c.set_nonblocking(true).unwrap();
        let _ = c.connect(&SockAddr::from(addr));
        fillers.push(c);
        std::thread::sleep(Duration::from_millis(20));
    }
    (l, fillers, addr)
}

#[test]
fn full_tcp_backlog_is_a_connect_timeout() {
    let (_l, _fill, addr) = full_tcp_backlog();
    let r = probe(&addr.to_string(), 400);
    let a = &r.attempts[0];
    assert_eq!(a.connect, ConnectOutcome::Timeout, "{}", dump(&r));
    assert_eq!(a.errno, None);
    assert!(a.ms >= 390.0, "{}", a.ms);
    assert_eq!(r.cause, Some(Cause::ConnectTimeout));
}

#[test]
fn missing_unix_socket_is_enoent() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("php8.2-fpm.sock");
    let r = probe(&format!("fastcgi://unix:{}", path.display()), 500);
    let a = &r.attempts[0];
    assert_eq!(a.connect, ConnectOutcome::NotFound, "{}", dump(&r));
    assert_eq!((a.errno, a.family), (Some(2), "unix"));
    assert_eq!(r.cause, Some(Cause::SocketMissing));
}

#[test]
fn stale_unix_socket_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.sock");
    drop(UnixListener::bind(&path).unwrap()); // the file stays, nobody listens
    let r = probe(&format!("unix:{}", path.display()), 500);
    assert_eq!(
        r.attempts[0].connect,
        ConnectOutcome::Refused,
        "{}",
        dump(&r)
    );
    assert_eq!(r.attempts[0].errno, Some(111));
}

#[test]
fn full_unix_backlog_is_eagain_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("busy.sock");
    let l = Socket::new(Domain::UNIX, Type::STREAM, None).unwrap();
    l.bind(&SockAddr::unix(&path).unwrap()).unwrap();
    l.listen(0).unwrap();
    // Fill the queue: the first connect is queued, never accepted.
    let c = Socket::new(Domain::UNIX, Type::STREAM, None).unwrap();
    c.set_nonblocking(true).unwrap();
    c.connect(&SockAddr::unix(&path).unwrap()).unwrap();
    let r = probe(&format!("fastcgi://unix:{}", path.display()), 1000);
    let a = &r.attempts[0];
    assert_eq!(a.connect, ConnectOutcome::Again, "{}", dump(&r));
    assert_eq!((a.errno, a.errno_name), (Some(11), Some("EAGAIN")));
    assert_eq!(r.cause, Some(Cause::BackendOverloaded));
}

#[test]
fn every_resolved_address_is_tried_in_nginx_order() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for s in l.incoming().take(4).flatten() {
            let _ =
                std::io::Write::write_all(&mut &s, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
            let _ = TcpStream::shutdown(&s, std::net::Shutdown::Both);
        }
    });
    let r = probe(&format!("http://localhost:{port}/"), 1000);
    let res = r.resolution.as_ref().expect("resolution");
    assert!(!res.literal && res.ok(), "{}", dump(&r));
    assert_eq!(r.attempts.len(), res.addresses.len());
    assert_eq!(
        r.attempts[0].address,
        format!("{}:{port}", res.addresses[0])
    );
    let v4 = r
        .attempts
        .iter()
        .find(|a| a.family == "ipv4")
        .expect("127.0.0.1");
    assert_eq!(v4.verdict, Verdict::Ok, "{}", dump(&r));
}

#[test]
fn http_over_a_unix_socket() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.sock");
    let l = UnixListener::bind(&path).unwrap();
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        for mut s in l.incoming().take(2).flatten() {
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf);
            let _ = s.write_all(b"HTTP/1.1 204 No Content\r\nServer: uvicorn\r\n\r\n");
        }
    });
    let r = probe(&format!("http://unix:{}:/api/", path.display()), 1000);
    assert_eq!(r.verdict, Verdict::Ok, "{}", dump(&r));
    let a = &r.attempts[0];
    assert_eq!(
        (a.family, a.address.as_str()),
        ("unix", format!("unix:{}", path.display()).as_str())
    );
    let h = a.exchange.as_ref().unwrap().http.as_ref().unwrap();
    assert_eq!((h.status, h.server.as_deref()), (204, Some("uvicorn")));
}
