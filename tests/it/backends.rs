//! Misbehaving backends for the log tests, in-process on loopback: each
//! serves one fault on an ephemeral port until dropped.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{JoinHandle, sleep, spawn};
use std::time::{Duration, Instant};

/// What a backend does with each connection.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Read the request, then close without answering (FIN).
    CloseAfterRead,
    /// Let the request arrive, then close without reading it: the kernel
    /// answers with a reset.
    Reset,
    /// Read the request and answer nothing for this long.
    Stall(Duration),
    /// Answer these raw bytes (a response, or garbage).
    Reply(Vec<u8>),
    /// Answer the first request on a connection with keep-alive, then close
    /// the connection when the next request arrives on it: the race of a
    /// backend idle timeout against nginx reusing the connection.
    CloseReused,
}

/// A running backend; stopped and joined when dropped.
pub struct Backend {
    pub port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Read until the end of an HTTP request head (or a pause for non-HTTP
/// peers such as nginx's FastCGI client).
fn read_request(s: &mut TcpStream) {
    let _ = s.set_read_timeout(Some(Duration::from_millis(150)));
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                if buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    return;
                }
            }
        }
    }
}

/// After answering: stop sending and wait for nginx to close, so the
/// kernel never turns unread bytes into a reset.
fn finish(mut s: TcpStream) {
    let _ = s.shutdown(Shutdown::Write);
    let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
    let mut sink = [0u8; 4096];
    let deadline = Instant::now() + Duration::from_secs(2);
    while Instant::now() < deadline {
        match s.read(&mut sink) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
}

fn handle(mut s: TcpStream, fault: &Fault) {
    let _ = s.set_nonblocking(false);
    match fault {
        Fault::CloseAfterRead => {
            read_request(&mut s);
            finish(s);
        }
        Fault::Reset => {
            sleep(Duration::from_millis(100));
            drop(s);
        }
        Fault::Stall(d) => {
            read_request(&mut s);
            sleep(*d);
        }
        Fault::Reply(bytes) => {
            read_request(&mut s);
            let _ = s.write_all(bytes);
            finish(s);
        }
        Fault::CloseReused => {
            let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
            read_request(&mut s);
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
            let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
            read_request(&mut s);
            finish(s);
        }
    }
}

/// Start a backend with `fault` on 127.0.0.1.
pub fn start(fault: Fault) -> Backend {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind backend");
    let port = l.local_addr().unwrap().port();
    l.set_nonblocking(true).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let thread = spawn(move || {
        let mut workers = Vec::new();
        while !flag.load(Ordering::SeqCst) {
            match l.accept() {
                Ok((s, _)) => {
                    let f = fault.clone();
                    workers.push(spawn(move || handle(s, &f)));
                }
                Err(_) => sleep(Duration::from_millis(5)),
            }
        }
        for w in workers {
            let _ = w.join();
        }
    });
    Backend {
        port,
        stop,
        thread: Some(thread),
    }
}
