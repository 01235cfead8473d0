//! Protocol identification when nginx's protocol gets no conclusive
//! answer: it is bounded by how fast the peer reacts, not by the read
//! timeout, and stays right for peers that serve one connection at a time.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::thread;
use std::time::Duration;

use badgateway_probe::exchange::Ended;
use badgateway_probe::sniff::Sent;
use badgateway_probe::{Speaks, Verdict};

use crate::support::{Behaviour, dump, probe, serve};

const OK: &[u8] = b"HTTP/1.1 200 OK\r\nServer: single\r\nContent-Length: 2\r\n\r\nok";

/// A read timeout no exchange below may wait out.
const LONG_MS: u64 = 20_000;

#[test]
fn fastcgi_to_a_waiting_http_server_is_settled_by_an_early_http_question() {
    let addr = serve(Behaviour::AnswerAfterHead(OK), 4);
    let r = probe(&format!("fastcgi://{addr}"), LONG_MS);
    assert_eq!(
        (r.verdict, r.protocol),
        (Verdict::ProtocolMismatch, Speaks::Http),
        "{}",
        dump(&r)
    );
    let a = &r.attempts[0];
    let primary = a.exchange.as_ref().unwrap();
    assert_eq!(
        (primary.sent, primary.speaks, primary.ended),
        (Sent::FastcgiGetValues, Speaks::Silent, Ended::Timeout)
    );
    // cut short once the peer answered HTTP on the second connection
    assert!(primary.ms < (LONG_MS / 2) as f64, "{}", dump(&r));
    let sent: Vec<_> = a.identify.iter().map(|e| (e.sent, e.speaks)).collect();
    assert_eq!(sent, [(Sent::HttpRequest, Speaks::Http)]);
    assert!(r.summary.contains("stays silent"), "{}", r.summary);
}

#[test]
fn a_peer_that_closes_nginx_request_is_identified_at_its_own_pace() {
    // Reads a request head, then closes: silent to every protocol without
    // a blank line, closes the HTTP/2 preface (which has one).
    let addr = serve(Behaviour::AnswerAfterHead(b""), 16);
    let r = probe(&format!("http://{addr}/"), LONG_MS);
    assert_eq!(r.verdict, Verdict::ClosedWithoutAnswer, "{}", dump(&r));
    let a = &r.attempts[0];
    let tried: Vec<_> = a.identify.iter().map(|e| (e.sent, e.speaks)).collect();
    assert_eq!(
        tried,
        [
            (Sent::TlsClientHello, Speaks::Silent),
            (Sent::FastcgiGetValues, Speaks::Silent),
            (Sent::H2Preface, Speaks::Closed),
            (Sent::UwsgiRequest, Speaks::Silent),
        ],
        "{}",
        dump(&r)
    );
    for e in &a.identify {
        assert!(e.ms < (LONG_MS / 2) as f64, "{}", dump(&r));
    }
}

/// An HTTP server with a single worker: one connection at a time, each
/// read until its blank line (or its client leaves).
fn single_worker() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().expect("addr");
    thread::spawn(move || {
        for s in l.incoming().take(16) {
            let Ok(mut s) = s else { return };
            let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            let complete = loop {
                if buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    break true;
                }
                match s.read(&mut chunk) {
                    Ok(0) | Err(_) => break false,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            };
            if complete {
                let _ = s.write_all(OK);
            }
        }
    });
    addr
}

#[test]
fn a_single_worker_http_server_behind_fastcgi_pass_is_still_identified() {
    // The worker sits on nginx's FastCGI connection until it times out; the
    // early HTTP question queues behind it, and identification afterwards
    // must still find HTTP.
    let addr = single_worker();
    let r = probe(&format!("fastcgi://{addr}"), 600);
    assert_eq!(
        (r.verdict, r.protocol),
        (Verdict::ProtocolMismatch, Speaks::Http),
        "{}",
        dump(&r)
    );
    let a = &r.attempts[0];
    assert_eq!(a.exchange.as_ref().unwrap().speaks, Speaks::Silent);
    assert_eq!(a.identify.last().map(|e| e.speaks), Some(Speaks::Http));
}

/// A uwsgi-like server with a single worker, as uWSGI with `--processes 1`
/// behaves: one connection at a time; a uwsgi packet (modifier 0) gets an
/// answer, an opening that reads as a packet header with a large size (the
/// HTTP/2 preface) holds the worker until the client leaves, anything else
/// is closed at once.
fn single_worker_uwsgi() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().expect("addr");
    thread::spawn(move || {
        for s in l.incoming().take(32) {
            let Ok(mut s) = s else { return };
            let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
            let mut head = [0u8; 4];
            if s.read_exact(&mut head).is_err() {
                continue;
            }
            if head[0] == 0 {
                let _ = s.write_all(OK);
            } else if head.starts_with(b"PRI") {
                let _ = std::io::copy(&mut s, &mut std::io::sink());
            }
        }
    });
    addr
}

#[test]
fn a_single_worker_held_by_one_foreign_opening_is_still_identified() {
    // The HTTP/2 preface holds the only worker while the uwsgi request
    // queues behind it; the others are closed. Identification must retry
    // the silent ones one after another rather than give up.
    for _ in 0..3 {
        let addr = single_worker_uwsgi();
        let r = probe(&format!("http://{addr}/"), 2000);
        assert_eq!(
            (r.verdict, r.protocol),
            (Verdict::ProtocolMismatch, Speaks::Uwsgi),
            "{}",
            dump(&r)
        );
    }
}
