//! Concurrency benchmark for `probe_many` (run by `scripts/bench-probe`):
//! N targets on loopback, a mix of live HTTP backends, refused ports, and
//! black-holed addresses (a listener whose full backlog drops every SYN),
//! probed with the default 1.5 s timeout. Prints the wall time and the
//! verdict counts; the claim to check is that N targets finish in about one
//! timeout, not N of them.
//!
//! Usage: probe_concurrency [TARGETS] [CONCURRENCY] [TIMEOUT_SECONDS]

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::time::{Duration, Instant};

use badgateway_probe::{ProbeOptions, Target, probe_many};
use socket2::{Domain, SockAddr, Socket, Type};

fn listener(backlog: i32) -> Socket {
    let s = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
    s.set_reuse_address(true).expect("reuseaddr");
    s.bind(&SockAddr::from(
        "127.0.0.1:0".parse::<SocketAddr>().expect("addr"),
    ))
    .expect("bind");
    s.listen(backlog).expect("listen");
    s
}

/// Live HTTP backends: a few accept loops with deep backlogs.
fn live_backends(n: usize) -> Vec<SocketAddr> {
    (0..n)
        .map(|_| {
            let l: TcpListener = listener(1024).into();
            let addr = l.local_addr().expect("addr");
            std::thread::spawn(move || {
                for mut s in l.incoming().flatten() {
                    let mut buf = [0u8; 1024];
                    let _ = s.read(&mut buf);
                    let _ = s.write_all(
                        b"HTTP/1.1 200 OK\r\nServer: bench\r\nContent-Length: 0\r\n\r\n",
                    );
                }
            });
            addr
        })
        .collect()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let concurrency: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(1024);
    let timeout: f64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(1.5);

    let live = live_backends(4);
    let refused = {
        let l = listener(1);
        l.local_addr().expect("addr").as_socket().expect("inet")
    }; // closed again: refused from now on
    let hole = listener(0);
    let hole_addr = hole.local_addr().expect("addr").as_socket().expect("inet");
    let mut fillers = Vec::new();
    for _ in 0..3 {
        let c = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
        c.set_nonblocking(true).expect("nonblocking");
        let _ = c.connect(&SockAddr::from(hole_addr));
        fillers.push(c);
        std::thread::sleep(Duration::from_millis(20));
    }

    let targets: Vec<Target> = (0..n)
        .map(|i| {
            let addr = match i % 3 {
                0 => live[i % live.len()],
                1 => refused,
                _ => hole_addr,
            };
            Target::parse(&format!("http://{addr}/t{i}")).expect("target")
        })
        .collect();
    let mut opts = ProbeOptions::with_timeout(Duration::from_secs_f64(timeout));
    opts.concurrency = concurrency;
    let start = Instant::now();
    let reports = probe_many(&targets, &opts);
    let wall = start.elapsed();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &reports {
        *counts.entry(r.verdict.as_str()).or_default() += 1;
    }
    println!(
        "targets={n} concurrency={concurrency} timeout={timeout}s wall={:.3}s verdicts={counts:?}",
        wall.as_secs_f64()
    );
}
