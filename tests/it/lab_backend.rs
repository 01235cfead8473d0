//! Each fault of the lab backend makes the real nginx log the message the
//! catalogue says it should, with the client status it should.

use std::time::Duration;

use badgateway_lab::{Backend, Fault, Listen, NginxBuilder, http, require_nginx};

struct Case {
    fault: Fault,
    extra: &'static str,
    status: u16,
    log: &'static str,
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            fault: Fault::Close,
            extra: "",
            status: 502,
            log: "upstream prematurely closed connection while reading response header from upstream",
        },
        Case {
            fault: Fault::Reset,
            extra: "",
            status: 502,
            log: "recv() failed (104: Connection reset by peer) while reading response header from upstream",
        },
        Case {
            fault: Fault::Slow(Duration::from_millis(2500)),
            extra: "proxy_read_timeout 1s;",
            status: 504,
            log: "upstream timed out (110: Connection timed out) while reading response header from upstream",
        },
        Case {
            fault: Fault::HugeHeaders(6000),
            extra: "",
            status: 502,
            log: "upstream sent too big header while reading response header from upstream",
        },
        Case {
            fault: Fault::InvalidHeader,
            extra: "",
            status: 502,
            log: "upstream sent invalid header",
        },
        // the status line was already decided: the access log keeps the
        // backend's 200 and the client sees the connection close
        Case {
            fault: Fault::BadChunked,
            extra: "",
            status: 200,
            log: "upstream sent invalid chunked response while reading upstream",
        },
        Case {
            fault: Fault::Status(502),
            extra: "",
            status: 502,
            log: "",
        },
    ]
}

#[test]
fn every_fault_produces_its_nginx_message() {
    let Some(bin) = require_nginx() else { return };
    for case in cases() {
        let b = Backend::start(
            &Listen::Tcp("127.0.0.1:0".parse().unwrap()),
            case.fault.clone(),
        )
        .unwrap();
        let port = b.addr().unwrap().port();
        let nginx = NginxBuilder::new(
            &bin,
            format!(
                "server {{ listen 127.0.0.1:@LISTEN@; server_name lab.example.com;
                   location / {{ proxy_pass http://127.0.0.1:{port}; {} }} }}",
                case.extra
            ),
        )
        .start()
        .unwrap();
        let _ = http::get(nginx.addr(), "/x");
        assert!(nginx.wait_access_lines(1, Duration::from_secs(5)));
        let access = nginx.access_log_text();
        assert!(
            access.contains(&format!("\"GET /x HTTP/1.1\" {} ", case.status)),
            "{:?}: {access}",
            case.fault
        );
        let log = nginx.error_log_text();
        if case.log.is_empty() {
            assert!(
                log.trim().is_empty(),
                "{:?}: expected no error log, got {log}",
                case.fault
            );
        } else {
            assert!(
                log.contains(case.log),
                "{:?}: expected {:?} in\n{log}",
                case.fault,
                case.log
            );
        }
    }
}

#[test]
fn keepalive_drop_fails_only_reused_connections() {
    let Some(bin) = require_nginx() else { return };
    let b = Backend::start(
        &Listen::Tcp("127.0.0.1:0".parse().unwrap()),
        Fault::KeepaliveDrop,
    )
    .unwrap();
    let port = b.addr().unwrap().port();
    let nginx = NginxBuilder::new(
        &bin,
        format!(
            "upstream app {{ server 127.0.0.1:{port}; keepalive 8; }}
             server {{ listen 127.0.0.1:@LISTEN@;
               location / {{ proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection \"\"; }} }}"
        ),
    )
    .start()
    .unwrap();
    for _ in 0..4 {
        let r = http::get(nginx.addr(), "/").unwrap();
        // nginx retries a failed cached connection on a fresh one
        assert_eq!(r.status, 200);
    }
    assert!(nginx.wait_access_lines(4, Duration::from_secs(5)));
    let log = nginx.error_log_text();
    assert!(
        log.contains("upstream prematurely closed connection while reading response header"),
        "{log}"
    );
    assert!(
        nginx.access_log_text().contains("us=\"502, 200\""),
        "{}",
        nginx.access_log_text()
    );
}

#[test]
fn a_crashing_backend_process_gives_premature_close_then_refused() {
    let Some(bin) = require_nginx() else { return };
    let port = badgateway_lab::free_port();
    let listen = Listen::Tcp(format!("127.0.0.1:{port}").parse().unwrap());
    let exe = std::path::Path::new(env!("CARGO_BIN_EXE_badgateway"));
    let mut backend = badgateway_lab::BackendProcess::spawn(exe, &listen, "crash-after:2").unwrap();
    let nginx = NginxBuilder::new(
        &bin,
        format!("server {{ listen 127.0.0.1:@LISTEN@; location / {{ proxy_pass http://127.0.0.1:{port}; }} }}"),
    )
    .start()
    .unwrap();
    let mut statuses: Vec<u16> = (0..3)
        .map(|_| http::get(nginx.addr(), "/").unwrap().status)
        .collect();
    // nginx can see the held connection close before the dying process's
    // listening socket is gone; only once it has exited is the port refused
    assert!(backend.exited(Duration::from_secs(5)));
    statuses.push(http::get(nginx.addr(), "/").unwrap().status);
    assert_eq!(statuses, [200, 200, 502, 502]);
    let log = nginx.error_log_text();
    assert!(
        log.contains("upstream prematurely closed connection"),
        "{log}"
    );
    assert!(
        log.contains("connect() failed (111: Connection refused)"),
        "{log}"
    );
}

#[test]
fn a_blackhole_times_out_over_tcp_and_says_eagain_over_unix() {
    let Some(bin) = require_nginx() else { return };
    let tcp = Backend::start(
        &Listen::Tcp("127.0.0.1:0".parse().unwrap()),
        Fault::Blackhole,
    )
    .unwrap();
    let port = tcp.addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let sock = dir.path().join("fpm.sock");
    let _unix = Backend::start(&Listen::Unix(sock.clone()), Fault::Blackhole).unwrap();
    let nginx = NginxBuilder::new(
        &bin,
        format!(
            "server {{ listen 127.0.0.1:@LISTEN@;
               location /tcp {{ proxy_pass http://127.0.0.1:{port}; proxy_connect_timeout 1s; }}
               location /unix {{ proxy_pass http://unix:{}; }} }}",
            sock.display()
        ),
    )
    .start()
    .unwrap();
    assert_eq!(http::get(nginx.addr(), "/tcp").unwrap().status, 504);
    assert_eq!(http::get(nginx.addr(), "/unix").unwrap().status, 502);
    let log = nginx.error_log_text();
    assert!(
        log.contains("upstream timed out (110: Connection timed out) while connecting to upstream"),
        "{log}"
    );
    assert!(
        log.contains("failed (11: Resource temporarily unavailable) while connecting to upstream"),
        "{log}"
    );
}

/// A TLS client that trusts only `cert` (DER) and checks it for `name`:
/// returns the certificate the server presented and its whole answer to a GET.
fn tls_get(addr: std::net::SocketAddr, cert: &[u8], name: &str) -> (Vec<u8>, String) {
    use std::io::{Read, Write};
    use std::sync::Arc;

    use rustls::pki_types::{CertificateDer, ServerName};
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from(cert.to_vec())).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let server = ServerName::try_from(name.to_string()).unwrap();
    let conn = rustls::ClientConnection::new(Arc::new(config), server).unwrap();
    let tcp = std::net::TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    tls.write_all(b"GET / HTTP/1.1\r\nHost: lab\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    // the backend keeps the connection open: read up to the 3-byte body
    while !answer.ends_with(b"\r\n\r\nok\n") {
        let n = tls.read(&mut buf).unwrap();
        assert!(
            n > 0,
            "closed early: {:?}",
            String::from_utf8_lossy(&answer)
        );
        answer.extend_from_slice(&buf[..n]);
    }
    let presented = tls.conn.peer_certificates().unwrap()[0].to_vec();
    (presented, String::from_utf8(answer).unwrap())
}

/// `openssl x509 -text` of a DER certificate.
fn openssl_text(der: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("c.der"), der).unwrap();
    let out = std::process::Command::new("openssl")
        .args(["x509", "-inform", "DER", "-in", "c.der", "-noout", "-text"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_tls_backend_handshakes_with_its_self_signed_certificate_then_speaks_http() {
    if !badgateway_lab::certs::require_openssl() {
        return;
    }
    let b = Backend::start(&Listen::Tcp("127.0.0.1:0".parse().unwrap()), Fault::Tls).unwrap();
    let cert = b
        .certificate()
        .expect("a tls backend has a certificate")
        .to_vec();
    let text = openssl_text(&cert);
    assert!(
        text.contains("Subject: CN = badgateway-lab.invalid"),
        "{text}"
    );
    assert!(
        text.contains("Issuer: CN = badgateway-lab.invalid"),
        "{text}"
    );
    assert!(
        text.contains("DNS:badgateway-lab.invalid, IP Address:127.0.0.1"),
        "{text}"
    );
    // verified for both the name and the address, by a client that trusts
    // exactly this certificate
    for name in [badgateway_lab::certs::LAB_TLS_NAME, "127.0.0.1"] {
        let (presented, answer) = tls_get(b.addr().unwrap(), &cert, name);
        assert_eq!(presented, cert);
        assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    }
    assert_eq!(b.requests.load(std::sync::atomic::Ordering::SeqCst), 2);
    // a plain HTTP request gets a TLS alert record, not HTTP
    let plain = http::get(b.addr().unwrap(), "/").unwrap();
    assert_eq!(plain.status, 0, "{plain:?}");
    assert_eq!(plain.head.as_bytes().first(), Some(&0x15), "{plain:?}");
    // a backend that is not `tls` presents nothing
    let ok = Backend::start(&Listen::Tcp("127.0.0.1:0".parse().unwrap()), Fault::Ok).unwrap();
    assert!(ok.certificate().is_none());
}

#[test]
fn nginx_verifies_the_tls_backend_only_when_it_trusts_that_certificate() {
    let Some(bin) = require_nginx() else { return };
    if !badgateway_lab::certs::require_openssl() {
        return;
    }
    let b = Backend::start(&Listen::Tcp("127.0.0.1:0".parse().unwrap()), Fault::Tls).unwrap();
    let port = b.addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("lab.der"), b.certificate().unwrap()).unwrap();
    let st = std::process::Command::new("openssl")
        .args([
            "x509", "-inform", "DER", "-in", "lab.der", "-out", "lab.pem",
        ])
        .current_dir(dir.path())
        .status()
        .unwrap();
    assert!(st.success());
    let nginx = NginxBuilder::new(
        &bin,
        format!(
            "server {{ listen 127.0.0.1:@LISTEN@;
               location /trusted {{ proxy_pass https://127.0.0.1:{port};
                 proxy_ssl_verify on; proxy_ssl_trusted_certificate {};
                 proxy_ssl_name badgateway-lab.invalid; proxy_ssl_session_reuse off; }}
               location /public-cas {{ proxy_pass https://127.0.0.1:{port};
                 proxy_ssl_verify on; proxy_ssl_session_reuse off;
                 proxy_ssl_trusted_certificate /etc/ssl/certs/ca-certificates.crt; }} }}",
            dir.path().join("lab.pem").display()
        ),
    )
    .start()
    .unwrap();
    // the public CAs do not vouch for it; trusting exactly it works
    assert_eq!(http::get(nginx.addr(), "/public-cas").unwrap().status, 502);
    let trusted = http::get(nginx.addr(), "/trusted").unwrap();
    assert_eq!(
        (trusted.status, trusted.body.as_slice()),
        (200, &b"ok\n"[..])
    );
    let log = nginx.error_log_text();
    assert!(
        log.contains(
            "upstream SSL certificate verify error: (18:self-signed certificate) while SSL handshaking to upstream"
        ),
        "{log}"
    );
}
