//! TLS against a real `openssl s_server`: certificates made by the openssl
//! CLI in a temp dir (a CA and a leaf for `backend.test`, from
//! `badgateway_lab::certs`), nginx's defaults (no SNI, no verification
//! enforced), and the mismatches both ways.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use badgateway_cause::Cause;
use badgateway_probe::{ProbeOptions, Speaks, Target, Verdict, probe_one};

use crate::support::{Behaviour, dump, probe, serve};

fn openssl() -> bool {
    badgateway_lab::certs::require_openssl()
}

/// A CA and a leaf certificate for backend.test and 127.0.0.1
/// (`ca.pem`, `leaf.pem`, `leaf.key`).
fn make_certs(dir: &Path) {
    badgateway_lab::certs::ca_and_leaf(dir, "backend.test").expect("make test certificates");
}

struct Server {
    child: Child,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        badgateway_lab::proc::stop_child(&mut self.child, libc::SIGTERM, Duration::from_secs(3));
    }
}

fn s_server(dir: &Path, extra: &[&str]) -> Server {
    for _ in 0..3 {
        let port = badgateway_lab::free_port();
        let accept = format!("127.0.0.1:{port}");
        let mut child = Command::new("openssl")
            .args([
                "s_server", "-accept", &accept, "-cert", "leaf.pem", "-key", "leaf.key", "-www",
                "-quiet",
            ])
            .args(extra)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start openssl s_server");
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Server { child, port };
            }
            if let Ok(Some(_)) = child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    panic!("openssl s_server did not start");
}

#[test]
fn https_with_nginx_defaults_and_with_verification() {
    if !openssl() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    make_certs(dir.path());
    let srv = s_server(dir.path(), &[]);

    // nginx's defaults: no SNI; the certificate is recorded, not enforced.
    let r = probe(&format!("https://127.0.0.1:{}", srv.port), 2000);
    assert_eq!(
        (r.verdict, r.protocol),
        (Verdict::Ok, Speaks::Tls),
        "{}",
        dump(&r)
    );
    let ex = r.attempts[0].exchange.as_ref().unwrap();
    let tls = ex.tls.as_ref().unwrap();
    assert_eq!(tls.sni, None);
    assert_eq!(tls.version.as_deref(), Some("TLSv1.3"));
    let cert = tls.cert.as_ref().unwrap();
    assert_eq!(cert.subject, "CN=backend.test");
    assert_eq!(cert.issuer, "CN=Test CA");
    assert_eq!(cert.sans, ["backend.test", "127.0.0.1"]);
    let v = tls.verification.as_ref().unwrap();
    assert!(!v.ok, "the test CA is in no system store: {}", dump(&r));
    assert_eq!(v.error_kind, Some("unknown-issuer"));
    assert_eq!(
        ex.inner.as_ref().unwrap().http.as_ref().unwrap().status,
        200
    );

    // proxy_ssl_server_name on, proxy_ssl_name backend.test, trusted CA.
    let t = Target::parse(&format!("https://127.0.0.1:{}", srv.port))
        .unwrap()
        .with_sni(true, Some("backend.test".into()));
    let mut opts = ProbeOptions::with_timeout(Duration::from_secs(2));
    opts.trusted_certificate = Some(dir.path().join("ca.pem"));
    let r = probe_one(&t, &opts);
    assert_eq!(r.verdict, Verdict::Ok, "{}", dump(&r));
    let a = &r.attempts[0];
    let tls = a.exchange.as_ref().unwrap().tls.as_ref().unwrap();
    assert_eq!(tls.sni.as_deref(), Some("backend.test"));
    let v = tls.verification.as_ref().unwrap();
    assert!(v.ok && v.name == "backend.test", "{}", dump(&r));
    // The other SNI setting was tried too.
    assert_eq!(a.tls_alternate.as_ref().unwrap().sni, None);
}

#[test]
fn plain_http_to_a_tls_port_and_tls_to_a_plain_port() {
    if !openssl() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    make_certs(dir.path());
    let srv = s_server(dir.path(), &[]);
    let r = probe(&format!("http://127.0.0.1:{}", srv.port), 1000);
    assert_eq!(
        (r.verdict, r.protocol),
        (Verdict::ProtocolMismatch, Speaks::Tls),
        "{}",
        dump(&r)
    );
    assert_eq!(r.cause, Some(Cause::ProtocolMismatch));

    let plain = serve(
        Behaviour::AnswerAtOnce(
            b"HTTP/1.1 400 Bad Request\r\nServer: gunicorn\r\nContent-Length: 0\r\n\r\n",
        ),
        8,
    );
    let r = probe(&format!("https://{plain}"), 1000);
    assert_eq!(
        (r.verdict, r.protocol),
        (Verdict::ProtocolMismatch, Speaks::Http),
        "{}",
        dump(&r)
    );
    let tls = r.attempts[0]
        .exchange
        .as_ref()
        .unwrap()
        .tls
        .as_ref()
        .unwrap();
    assert_eq!(tls.error_kind, Some("not-tls"));
}

#[test]
fn legacy_only_peer_is_reported() {
    if !openssl() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    make_certs(dir.path());
    let srv = s_server(dir.path(), &["-tls1", "-cipher", "DEFAULT:@SECLEVEL=0"]);
    let r = probe(&format!("https://127.0.0.1:{}", srv.port), 1000);
    assert_eq!(
        (r.verdict, r.protocol),
        (Verdict::TlsFailed, Speaks::Tls),
        "{}",
        dump(&r)
    );
    assert_eq!(r.cause, Some(Cause::TlsError));
    let tls = r.attempts[0]
        .exchange
        .as_ref()
        .unwrap()
        .tls
        .as_ref()
        .unwrap();
    assert!(tls.legacy_only, "{}", dump(&r));
    assert!(r.summary.contains("older than 1.2"), "{}", r.summary);
}

/// A rustls server that only has a certificate for the SNI name
/// `backend.test`: without SNI it has nothing to present and aborts.
fn sni_only_server(dir: &Path) -> std::net::SocketAddr {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    use std::sync::Arc;

    let provider = rustls::crypto::ring::default_provider();
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(dir.join("leaf.pem"))
        .unwrap()
        .map(|c| c.unwrap())
        .collect();
    let key = PrivateKeyDer::from_pem_file(dir.join("leaf.key")).unwrap();
    let ck = rustls::sign::CertifiedKey::from_der(certs, key, &provider).unwrap();
    let mut sni = rustls::server::ResolvesServerCertUsingSni::new();
    sni.add("backend.test", ck).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(provider))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(sni));
    let config = Arc::new(config);
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::spawn(move || {
        for tcp in l.incoming().take(8).flatten() {
            let config = config.clone();
            std::thread::spawn(move || {
                use std::io::{Read, Write};
                let _ = tcp.set_read_timeout(Some(Duration::from_secs(5)));
                let conn = rustls::ServerConnection::new(config).unwrap();
                let mut tls = rustls::StreamOwned::new(conn, tcp);
                let mut buf = [0u8; 1024];
                if tls.read(&mut buf).is_ok_and(|n| n > 0) {
                    let _ = tls.write_all(
                        b"HTTP/1.1 200 OK\r\nServer: sni-only\r\nContent-Length: 0\r\n\r\n",
                    );
                    let _ = tls.flush();
                }
            });
        }
    });
    addr
}

#[test]
fn backend_that_requires_sni() {
    if !openssl() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    make_certs(dir.path());
    let addr = sni_only_server(dir.path());
    // nginx's default: proxy_ssl_name backend.test but proxy_ssl_server_name off.
    let t = Target::parse(&format!("https://{addr}"))
        .unwrap()
        .with_sni(false, Some("backend.test".into()));
    let r = probe_one(&t, &ProbeOptions::with_timeout(Duration::from_secs(2)));
    assert_eq!(r.verdict, Verdict::TlsFailed, "{}", dump(&r));
    assert_eq!(r.cause, Some(Cause::TlsError));
    let a = &r.attempts[0];
    let tls = a.exchange.as_ref().unwrap().tls.as_ref().unwrap();
    assert_eq!(tls.sni, None);
    assert!(tls.alert.is_some(), "{}", dump(&r));
    let alt = a.tls_alternate.as_ref().unwrap();
    assert!(
        alt.ok && alt.sni.as_deref() == Some("backend.test"),
        "{}",
        dump(&r)
    );
    assert!(
        r.summary.contains("set proxy_ssl_server_name on"),
        "{}",
        r.summary
    );

    // With proxy_ssl_server_name on it works.
    let r = probe_one(
        &t.with_sni(true, None),
        &ProbeOptions::with_timeout(Duration::from_secs(2)),
    );
    assert_eq!(r.verdict, Verdict::Ok, "{}", dump(&r));
    let inner = r.attempts[0]
        .exchange
        .as_ref()
        .unwrap()
        .inner
        .as_ref()
        .unwrap();
    assert_eq!(
        inner.http.as_ref().unwrap().server.as_deref(),
        Some("sni-only")
    );
}
