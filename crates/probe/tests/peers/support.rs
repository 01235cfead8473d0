//! Small real servers on loopback for the probe tests: each runs on its own
//! thread with a listener on an ephemeral port and ends with the test.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

use badgateway_probe::{ProbeOptions, ProbeReport, Target, probe_one};

/// What an in-test server does with each connection.
#[derive(Clone, Copy)]
pub enum Behaviour {
    /// Read the request head (up to a blank line), then answer `reply`.
    AnswerAfterHead(&'static [u8]),
    /// Answer `reply` at once, whatever was sent.
    AnswerAtOnce(&'static [u8]),
    /// Read and never answer (hold the connection).
    Silent,
    /// Close at once.
    Close,
}

/// Start a server on 127.0.0.1:0 serving up to `conns` connections.
pub fn serve(behaviour: Behaviour, conns: usize) -> SocketAddr {
    serve_owned(behaviour_bytes(behaviour), behaviour, conns)
}

fn behaviour_bytes(b: Behaviour) -> Vec<u8> {
    match b {
        Behaviour::AnswerAfterHead(r) | Behaviour::AnswerAtOnce(r) => r.to_vec(),
        _ => Vec::new(),
    }
}

/// Like [`serve`] with an owned reply.
pub fn serve_owned(reply: Vec<u8>, behaviour: Behaviour, conns: usize) -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().expect("addr");
    thread::spawn(move || {
        for _ in 0..conns {
            let Ok((s, _)) = l.accept() else { return };
            let reply = reply.clone();
            thread::spawn(move || handle(s, behaviour, &reply));
        }
    });
    addr
}

fn handle(mut s: TcpStream, behaviour: Behaviour, reply: &[u8]) {
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    match behaviour {
        Behaviour::AnswerAfterHead(_) => {
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                match s.read(&mut chunk) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            }
            let _ = s.write_all(reply);
        }
        Behaviour::AnswerAtOnce(_) => {
            let mut chunk = [0u8; 64];
            let _ = s.read(&mut chunk);
            let _ = s.write_all(reply);
            thread::sleep(Duration::from_millis(50));
        }
        Behaviour::Silent => {
            let mut chunk = [0u8; 4096];
            while let Ok(n) = s.read(&mut chunk) {
                if n == 0 {
                    return;
                }
            }
        }
        Behaviour::Close => {}
    }
}

/// Probe `target` with a short timeout.
pub fn probe(target: &str, timeout_ms: u64) -> ProbeReport {
    let t = Target::parse(target).expect("valid target");
    probe_one(
        &t,
        &ProbeOptions::with_timeout(Duration::from_millis(timeout_ms)),
    )
}

/// The report as JSON, for assertion messages.
pub fn dump(r: &ProbeReport) -> String {
    serde_json::to_string_pretty(r).unwrap_or_default()
}
