//! Protocol sniffing against real peers: what nginx's protocol gets, and
//! what the peer really speaks when it is not that.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::thread;

use badgateway_cause::Cause;
use badgateway_probe::{Speaks, Verdict};

use crate::support::{Behaviour, dump, probe, serve, serve_owned};

const GUNICORN: &[u8] =
    b"HTTP/1.1 200 OK\r\nServer: gunicorn\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok";

#[test]
fn http_backend_answers_http() {
    let addr = serve(Behaviour::AnswerAfterHead(GUNICORN), 4);
    let r = probe(&format!("http://{addr}/health"), 1000);
    assert_eq!(r.verdict, Verdict::Ok, "{}", dump(&r));
    assert_eq!(r.protocol, Speaks::Http);
    let ex = r.attempts[0].exchange.as_ref().unwrap();
    let h = ex.http.as_ref().unwrap();
    assert_eq!((h.status, h.server.as_deref()), (200, Some("gunicorn")));
    assert_eq!(h.header_bytes, GUNICORN.len() - 2);
    assert!(
        r.summary.contains("Server: gunicorn") && r.summary.ends_with("→ OK"),
        "{}",
        r.summary
    );
}

#[test]
fn fastcgi_to_an_http_server_that_answers_garbage_with_400() {
    // Like many HTTP servers: reject the binary FastCGI bytes at once.
    let addr = serve(
        Behaviour::AnswerAtOnce(
            b"HTTP/1.1 400 Bad Request\r\nServer: gunicorn\r\nContent-Length: 0\r\n\r\n",
        ),
        4,
    );
    let r = probe(&format!("fastcgi://{addr}"), 1000);
    assert_eq!(r.verdict, Verdict::ProtocolMismatch, "{}", dump(&r));
    assert_eq!(r.protocol, Speaks::Http);
    assert_eq!(r.cause, Some(Cause::ProtocolMismatch));
    let fcgi = r.attempts[0]
        .exchange
        .as_ref()
        .unwrap()
        .fastcgi
        .as_ref()
        .unwrap();
    assert_eq!(
        fcgi.violation.as_deref(),
        Some("upstream sent unsupported FastCGI protocol version: 72")
    );
    assert!(
        r.summary.starts_with(
            "nginx would speak FastCGI here, but the peer answers HTTP/1.1 400 (Server: gunicorn)"
        ) && r.summary.ends_with("→ protocol mismatch"),
        "{}",
        r.summary
    );
}

#[test]
fn fastcgi_to_an_http_server_that_waits_is_identified() {
    let addr = serve(Behaviour::AnswerAfterHead(GUNICORN), 4);
    let r = probe(&format!("fastcgi://{addr}"), 300);
    assert_eq!(r.verdict, Verdict::ProtocolMismatch, "{}", dump(&r));
    let a = &r.attempts[0];
    assert_eq!(a.exchange.as_ref().unwrap().speaks, Speaks::Silent);
    assert_eq!(a.identify.last().unwrap().speaks, Speaks::Http);
    assert_eq!(r.protocol, Speaks::Http);
    assert!(r.summary.contains("stays silent"), "{}", r.summary);
}

#[test]
fn uwsgi_and_grpc_to_an_http_server() {
    let addr = serve(Behaviour::AnswerAfterHead(GUNICORN), 8);
    let r = probe(&format!("uwsgi://{addr}"), 300);
    assert_eq!(
        (r.verdict, r.protocol),
        (Verdict::ProtocolMismatch, Speaks::Http),
        "{}",
        dump(&r)
    );
    let addr = serve(
        Behaviour::AnswerAtOnce(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"),
        4,
    );
    let r = probe(&format!("grpc://{addr}"), 500);
    assert_eq!(
        (r.verdict, r.protocol),
        (Verdict::ProtocolMismatch, Speaks::Http),
        "{}",
        dump(&r)
    );
    let h2 = r.attempts[0]
        .exchange
        .as_ref()
        .unwrap()
        .h2
        .as_ref()
        .unwrap();
    assert_eq!(
        h2.first_length,
        Some(4_740_180),
        "nginx: too large http2 frame: 4740180"
    );
}

#[test]
fn h2c_server_speaks_h2() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    thread::spawn(move || {
        for mut s in l.incoming().take(2).flatten() {
            let mut preface = [0u8; 24];
            if s.read_exact(&mut preface).is_ok() && &preface == b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
            {
                // SETTINGS with MAX_CONCURRENT_STREAMS=100, then GOAWAY(NO_ERROR).
                let _ = s.write_all(&[0, 0, 6, 4, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 100]);
                let _ = s.write_all(&[0, 0, 8, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
            }
        }
    });
    let r = probe(&format!("grpc://{addr}"), 1000);
    assert_eq!(
        (r.verdict, r.protocol),
        (Verdict::Ok, Speaks::H2),
        "{}",
        dump(&r)
    );
    let h2 = r.attempts[0]
        .exchange
        .as_ref()
        .unwrap()
        .h2
        .as_ref()
        .unwrap();
    assert_eq!(h2.settings, [(3, 100)]);
}

#[test]
fn silent_and_closing_peers() {
    let addr = serve(Behaviour::Silent, 8);
    let r = probe(&format!("http://{addr}"), 200);
    assert_eq!(
        (r.verdict, r.protocol),
        (Verdict::NoAnswer, Speaks::Silent),
        "{}",
        dump(&r)
    );
    assert_eq!(r.cause, Some(Cause::UpstreamTimeout));
    let addr = serve(Behaviour::Close, 8);
    let r = probe(&format!("http://{addr}"), 200);
    assert_eq!(
        (r.verdict, r.protocol),
        (Verdict::ClosedWithoutAnswer, Speaks::Closed),
        "{}",
        dump(&r)
    );
    assert!(r.summary.contains("prematurely closed"), "{}", r.summary);
}

#[test]
fn header_block_against_the_buffer_size() {
    let mut reply = b"HTTP/1.1 200 OK\r\nServer: app\r\n".to_vec();
    for i in 0..60 {
        reply.extend_from_slice(format!("Set-Cookie: c{i}={}\r\n", "x".repeat(90)).as_bytes());
    }
    reply.extend_from_slice(b"Content-Length: 0\r\n\r\n");
    let head = reply.len();
    let addr = serve_owned(reply, Behaviour::AnswerAfterHead(b""), 4);
    let r = probe(&format!("http://{addr}"), 1000);
    assert_eq!(r.verdict, Verdict::HeaderTooBig, "{}", dump(&r));
    assert_eq!(r.cause, Some(Cause::HeaderTooBig));
    let h = r.attempts[0]
        .exchange
        .as_ref()
        .unwrap()
        .http
        .as_ref()
        .unwrap();
    assert_eq!(h.header_bytes, head);
    assert!(
        r.summary.contains(&format!("{head} bytes")),
        "{}",
        r.summary
    );
    let t = badgateway_probe::Target::parse(&format!("http://{addr}"))
        .unwrap()
        .with_buffer_size(16384);
    let r = badgateway_probe::probe_one(&t, &badgateway_probe::ProbeOptions::default());
    assert_eq!(r.verdict, Verdict::Ok, "{}", dump(&r));
}

#[test]
fn invalid_header_is_an_invalid_response() {
    let addr = serve(
        Behaviour::AnswerAfterHead(b"HTTP/1.1 200 OK\r\nX-Bad\x01: y\r\n\r\n"),
        2,
    );
    let r = probe(&format!("http://{addr}"), 500);
    assert_eq!(r.verdict, Verdict::InvalidResponse, "{}", dump(&r));
    assert_eq!(r.cause, Some(Cause::InvalidResponse));
}

#[test]
fn probe_many_keeps_order_and_runs_concurrently() {
    let live = serve(Behaviour::AnswerAfterHead(GUNICORN), 64);
    let silent = serve(Behaviour::Silent, 64);
    let mut targets = Vec::new();
    for i in 0..40 {
        let addr = if i % 2 == 0 { live } else { silent };
        targets.push(badgateway_probe::Target::parse(&format!("http://{addr}/{i}")).unwrap());
    }
    let mut opts =
        badgateway_probe::ProbeOptions::with_timeout(std::time::Duration::from_millis(300));
    opts.identify = false;
    let reports = badgateway_probe::probe_many(&targets, &opts);
    assert_eq!(reports.len(), 40);
    for (i, r) in reports.iter().enumerate() {
        assert_eq!(r.target, targets[i].text);
        let want = if i % 2 == 0 {
            Verdict::Ok
        } else {
            Verdict::NoAnswer
        };
        assert_eq!(r.verdict, want, "{}", dump(r));
    }
}
