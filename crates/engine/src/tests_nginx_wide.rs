//! Rule tests for failures seen across a whole group or the whole nginx:
//! `no live upstreams` folded into the failures that took the servers out,
//! descriptor exhaustion on accept and on upstream sockets, and the
//! certificate errors nginx logs with `proxy_ssl_verify on`.

use badgateway_cause::{Cause, Severity};

use crate::diagnose;
use crate::evidence::*;
use crate::tests::{group, upstream};

#[test]
fn no_live_upstreams_folds_into_the_refusals_that_disabled_the_servers() {
    let mut ev = Evidence::default();
    ev.upstreams
        .push(upstream("app", "http", &["10.0.0.1:80", "10.0.0.2:80"]));
    for peer in ["10.0.0.1:80", "10.0.0.2:80"] {
        let mut g = group(Cause::UpstreamDown, "connect_refused", peer, "http://", 3);
        g.failed_requests = Some(1);
        ev.log.groups.push(g);
    }
    let mut no_live = group(
        Cause::UpstreamDown,
        "no_live_upstreams",
        "app",
        "http://",
        40,
    );
    no_live.sample = "2026/11/21 16:05:30 [error] 1#1: *9 no live upstreams while connecting to upstream, client: 192.0.2.1, server: a, request: \"GET / HTTP/1.1\", upstream: \"http://app/\", host: \"a\"".into();
    no_live.failed_requests = Some(40);
    ev.log.groups.push(no_live);
    let d = diagnose(&ev);
    assert_eq!(d.findings.len(), 1, "{:#?}", d.findings);
    let f = &d.findings[0];
    assert_eq!(
        (f.cause, f.upstream.as_deref()),
        (Cause::UpstreamDown, Some("app"))
    );
    assert_eq!(f.failed_requests, 42);
    assert_eq!(f.severity, Severity::Critical);
    assert!(
        f.summary.contains("10.0.0.1:80, 10.0.0.2:80"),
        "{}",
        f.summary
    );
    assert!(f.evidence[0].text.contains("connect_refused"));
    assert!(
        f.evidence
            .last()
            .unwrap()
            .text
            .contains("no live upstreams")
    );
}

#[test]
fn descriptor_exhaustion_is_one_critical_finding_for_the_whole_nginx() {
    let mut ev = Evidence::default();
    ev.upstreams
        .push(upstream("127.0.0.1:8000", "http", &["127.0.0.1:8000"]));
    let mut g = group(
        Cause::FdExhaustion,
        "socket_fd_exhaustion",
        "127.0.0.1:8000",
        "http://",
        5,
    );
    g.status = Some(500);
    ev.log.groups.push(g);
    ev.log.limits.push(LogGroup {
        cause: Cause::FdExhaustion,
        kind: "fd_exhaustion_other".into(),
        count: 10,
        failed_requests: Some(0),
        sample: "2026/11/18 21:03:00 [crit] 1203#1203: accept4() failed (24: Too many open files)"
            .into(),
        ..LogGroup::default()
    });
    ev.host.worker_connections = Some(8192);
    let d = diagnose(&ev);
    assert_eq!(d.findings.len(), 1, "{:#?}", d.findings);
    let f = &d.findings[0];
    assert_eq!(
        (f.cause, f.upstream.as_deref()),
        (Cause::FdExhaustion, None)
    );
    assert_eq!(f.severity, Severity::Critical);
    assert!(f.fix.contains("worker_rlimit_nofile 65536;"), "{}", f.fix);
    assert!(f.evidence.iter().any(|e| e.text.contains("accept4()")));
    assert!(
        f.evidence
            .iter()
            .any(|e| e.text.contains("`worker_rlimit_nofile` is not set"))
    );
}

fn tls_finding(message: &str) -> crate::Finding {
    let mut ev = Evidence::default();
    ev.upstreams.push(upstream(
        "payments",
        "https",
        &["10.0.9.20:443", "10.0.9.21:443"],
    ));
    let mut g = group(
        Cause::TlsError,
        "tls_verify",
        "10.0.9.20:443",
        "https://",
        7,
    );
    g.sample = format!(
        "2026/11/18 11:20:05 [error] 7710#7710: *1 {message} while SSL handshaking to upstream, client: 192.0.2.1, server: pay, request: \"POST /v2/charge HTTP/1.1\", upstream: \"https://10.0.9.20:443/v2/charge\", host: \"pay\""
    );
    ev.log.groups.push(g);
    diagnose(&ev).findings.remove(0)
}

#[test]
fn certificate_errors_name_the_directive_to_change() {
    let f = tls_finding(
        "upstream SSL certificate verify error: (20:unable to get local issuer certificate)",
    );
    assert_eq!(f.cause, Cause::TlsError);
    assert!(f.summary.contains("unable to get local issuer certificate"));
    assert!(f.fix.contains("proxy_ssl_trusted_certificate"), "{}", f.fix);

    let f = tls_finding("upstream SSL certificate verify error: (22:certificate chain too long)");
    assert!(f.fix.contains("proxy_ssl_verify_depth"), "{}", f.fix);

    let f = tls_finding("upstream SSL certificate does not match \"payments\"");
    assert_eq!(f.cause, Cause::TlsError);
    assert!(f.summary.contains("\"payments\""), "{}", f.summary);
    assert!(f.summary.contains("upstream block's name"), "{}", f.summary);
    assert!(f.fix.contains("proxy_ssl_name"), "{}", f.fix);

    let f = tls_finding(
        "SSL_do_handshake() failed (SSL: error:0A00042E:SSL routines::tlsv1 alert protocol version:SSL alert number 70)",
    );
    assert_eq!(f.cause, Cause::TlsError);
    assert!(f.fix.contains("proxy_ssl_protocols"), "{}", f.fix);
}
