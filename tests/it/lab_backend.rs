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
    let statuses: Vec<u16> = (0..4)
        .map(|_| http::get(nginx.addr(), "/").unwrap().status)
        .collect();
    assert_eq!(statuses, [200, 200, 502, 502]);
    assert!(backend.exited(Duration::from_secs(5)));
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
