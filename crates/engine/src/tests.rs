//! Rule tests over plain values: each builds the evidence of one failure and
//! checks the cause, the ranking and the concrete fix.

use badgateway_cause::{Cause, Severity};

use crate::diagnose;
use crate::evidence::*;

pub(crate) fn upstream(name: &str, protocol: &str, peers: &[&str]) -> Upstream {
    Upstream {
        name: name.into(),
        explicit: peers.len() > 1,
        protocol: protocol.into(),
        peers: peers
            .iter()
            .map(|a| Peer {
                address: (*a).into(),
                defined_at: Some("nginx.conf:20".into()),
                ..Peer::default()
            })
            .collect(),
        used_at: vec!["sites/app.conf:14".into()],
        ..Upstream::default()
    }
}

pub(crate) fn group(
    cause: Cause,
    kind: &str,
    upstream: &str,
    schema: &str,
    count: u64,
) -> LogGroup {
    LogGroup {
        cause,
        kind: kind.into(),
        upstream: Some(upstream.into()),
        schema: Some(schema.into()),
        status: Some(if cause == Cause::UpstreamTimeout {
            504
        } else {
            502
        }),
        count,
        first: "2026/11/21 16:03:07".into(),
        last: "2026/11/21 16:05:30".into(),
        sample: format!(
            "2026/11/21 16:05:30 [error] 1#1: *1 {kind} … upstream: \"{schema}{upstream}\""
        ),
        ..LogGroup::default()
    }
}

fn probe(addr: &str, connect: &str, protocol: Option<&str>) -> ProbeResult {
    ProbeResult {
        address: addr.into(),
        connect: connect.into(),
        protocol: protocol.map(str::to_owned),
        ..ProbeResult::default()
    }
}

fn listener(addr: &str, process: &str) -> Listener {
    Listener {
        address: addr.into(),
        process: Some(process.into()),
        pid: Some(4242),
    }
}

#[test]
fn missing_php_socket_names_the_one_that_exists() {
    let mut ev = Evidence::default();
    ev.upstreams.push(upstream(
        "unix:/run/php/php8.1-fpm.sock",
        "fastcgi",
        &["unix:/run/php/php8.1-fpm.sock"],
    ));
    ev.log.groups.push(group(
        Cause::SocketMissing,
        "socket_missing",
        "unix:/run/php/php8.1-fpm.sock",
        "fastcgi://",
        277,
    ));
    ev.host.inspected = true;
    // An unrelated socket in the same directory, listed first.
    ev.host.socket_files = vec![
        "/run/php/other-app.sock".into(),
        "/run/php/php8.2-fpm.sock".into(),
    ];
    ev.host.php_pools.push(PhpPool {
        name: "www".into(),
        defined_at: "/etc/php/8.2/fpm/pool.d/www.conf:41".into(),
        listen: "/run/php/php8.2-fpm.sock".into(),
        ..PhpPool::default()
    });
    let d = diagnose(&ev);
    let f = &d.findings[0];
    assert_eq!(f.cause, Cause::SocketMissing);
    assert!(f.summary.contains("does —"), "{}", f.summary);
    assert!(!f.fix.contains("systemctl"), "{}", f.fix);
    assert_eq!(f.severity, Severity::Critical);
    assert_eq!(f.failed_requests, 277);
    assert!(
        f.summary.contains("/run/php/php8.2-fpm.sock"),
        "{}",
        f.summary
    );
    assert!(
        f.fix
            .starts_with("fastcgi_pass unix:/run/php/php8.2-fpm.sock; at nginx.conf:20"),
        "{}",
        f.fix
    );
    assert!(d.has_problems());
}

#[test]
fn refused_on_ipv6_while_backend_listens_on_ipv4_is_address_mismatch() {
    let mut ev = Evidence::default();
    ev.upstreams.push(upstream(
        "localhost:8000",
        "http",
        &["[::1]:8000", "127.0.0.1:8000"],
    ));
    ev.log.groups.push(group(
        Cause::UpstreamDown,
        "connect_refused",
        "[::1]:8000",
        "http://",
        40,
    ));
    ev.host.inspected = true;
    ev.host
        .listeners
        .push(listener("127.0.0.1:8000", "gunicorn"));
    ev.probes.push(probe("[::1]:8000", "refused", None));
    // written as an address: no word about host names
    let f = &diagnose(&ev).findings[0];
    assert_eq!(f.cause, Cause::AddressMismatch);
    assert!(
        f.summary.contains("127.0.0.1:8000") && f.summary.contains("IPv4/IPv6"),
        "{}",
        f.summary
    );
    assert!(!f.summary.contains("localhost"), "{}", f.summary);
    assert!(f.live);
    // written as `localhost`: the summary and the fix say why
    for p in &mut ev.upstreams[0].peers {
        p.hostname = Some("localhost".into());
    }
    // the config check that nothing listens there is this finding's premise
    ev.lints.push(ConfigIssue {
        code: "loopback-not-listening".into(),
        cause: Some(Cause::UpstreamDown),
        severity: Severity::Critical,
        at: "nginx.conf:20".into(),
        message: "server localhost:8000: nothing listens on [::1]:8000".into(),
        fix: "start the backend".into(),
    });
    let d = diagnose(&ev);
    let f = &d.findings[0];
    assert!(f.summary.contains("`localhost`"), "{}", f.summary);
    assert!(f.fix.contains("not `localhost`"), "{}", f.fix);
    assert_eq!(d.findings.len(), 1, "{:#?}", d.findings);
    assert!(
        f.evidence
            .iter()
            .any(|e| e.text.contains("loopback-not-listening"))
    );
}

#[test]
fn refused_with_nothing_listening_is_upstream_down_and_recovery_lowers_severity() {
    let mut ev = Evidence::default();
    ev.upstreams
        .push(upstream("127.0.0.1:9000", "http", &["127.0.0.1:9000"]));
    ev.log.groups.push(group(
        Cause::UpstreamDown,
        "connect_refused",
        "127.0.0.1:9000",
        "http://",
        5,
    ));
    ev.host.inspected = true;
    ev.host.listeners.push(listener("0.0.0.0:80", "nginx"));
    ev.probes.push(probe("127.0.0.1:9000", "refused", None));
    let f = &diagnose(&ev).findings[0];
    assert_eq!(
        (f.cause, f.severity, f.live),
        (Cause::UpstreamDown, Severity::Critical, true)
    );
    // the same history, but the backend accepts connections now
    ev.probes[0].connect = "ok".into();
    let f = &diagnose(&ev).findings[0];
    assert_eq!(
        (f.cause, f.severity, f.live),
        (Cause::UpstreamDown, Severity::Warning, false)
    );
    assert!(f.summary.contains("accepts them again"), "{}", f.summary);
}

#[test]
fn read_timeout_on_fastcgi_port_that_answers_http_is_a_protocol_mismatch() {
    let mut ev = Evidence::default();
    ev.upstreams
        .push(upstream("127.0.0.1:8080", "fastcgi", &["127.0.0.1:8080"]));
    ev.log.groups.push(group(
        Cause::UpstreamTimeout,
        "read_timeout",
        "127.0.0.1:8080",
        "fastcgi://",
        9,
    ));
    let mut p = probe("127.0.0.1:8080", "ok", Some("http"));
    p.server_header = Some("gunicorn".into());
    ev.probes.push(p);
    let f = &diagnose(&ev).findings[0];
    assert_eq!(f.cause, Cause::ProtocolMismatch);
    assert!(
        f.fix.contains("proxy_pass http://127.0.0.1:8080"),
        "{}",
        f.fix
    );
    // without the probe it stays a timeout, with the timeout in force
    ev.probes.clear();
    ev.upstreams[0].settings.read_timeout = Some(Setting {
        value: 60_000,
        text: "60s".into(),
        at: None,
    });
    let f = &diagnose(&ev).findings[0];
    assert_eq!(f.cause, Cause::UpstreamTimeout);
    assert!(f.summary.contains("60s"), "{}", f.summary);
}

#[test]
fn premature_close_on_reused_keepalive_connections_is_a_keepalive_race() {
    let mut ev = Evidence::default();
    let mut u = upstream("app", "http", &["127.0.0.1:8000"]);
    u.settings.keepalive = Some(16);
    u.settings.http11 = true;
    u.settings.connection_cleared = true;
    ev.upstreams.push(u);
    let mut g = group(
        Cause::BackendCrash,
        "premature_close",
        "127.0.0.1:8000",
        "http://",
        12,
    );
    g.failed_requests = Some(0);
    ev.log.groups.push(g);
    ev.log.access = Some(AccessEvidence {
        reused_retries: vec![("127.0.0.1:8000".into(), 12)],
        ..AccessEvidence::default()
    });
    let f = &diagnose(&ev).findings[0];
    assert_eq!(f.cause, Cause::KeepaliveRace);
    assert!(f.fix.contains("keepalive_timeout"), "{}", f.fix);
    // the same log lines without keepalive configured point to a crash
    ev.upstreams[0].settings.keepalive = None;
    assert_eq!(diagnose(&ev).findings[0].cause, Cause::BackendCrash);
}

#[test]
fn no_live_upstreams_with_every_server_down_in_config() {
    let mut ev = Evidence::default();
    let mut u = upstream("app", "http", &["127.0.0.1:8000", "127.0.0.1:8001"]);
    for p in &mut u.peers {
        p.down = true;
    }
    ev.upstreams.push(u);
    ev.log.groups.push(group(
        Cause::Unknown,
        "no_live_upstreams",
        "app",
        "http://",
        30,
    ));
    let f = &diagnose(&ev).findings[0];
    assert_eq!(f.cause, Cause::ServersMarkedDown);
    assert!(f.fix.contains("Remove `down`"), "{}", f.fix);
}

#[test]
fn ranking_follows_user_visible_failures() {
    let mut ev = Evidence::default();
    ev.upstreams.push(upstream(
        "unix:/run/php/php8.1-fpm.sock",
        "fastcgi",
        &["unix:/run/php/php8.1-fpm.sock"],
    ));
    ev.upstreams.push(upstream(
        "app",
        "http",
        &["127.0.0.1:8000", "127.0.0.1:8001"],
    ));
    ev.upstreams
        .push(upstream("127.0.0.1:9100", "http", &["127.0.0.1:9100"]));
    // the dead app server's failures are retried on the healthy one
    ev.log.groups.push(group(
        Cause::UpstreamDown,
        "connect_refused",
        "127.0.0.1:8001",
        "http://",
        12,
    ));
    ev.log.groups.push(group(
        Cause::UpstreamTimeout,
        "read_timeout",
        "127.0.0.1:9100",
        "http://",
        15,
    ));
    ev.log.groups.push(group(
        Cause::SocketMissing,
        "socket_missing",
        "unix:/run/php/php8.1-fpm.sock",
        "fastcgi://",
        277,
    ));
    let d = diagnose(&ev);
    let order: Vec<(Cause, u64)> = d
        .findings
        .iter()
        .map(|f| (f.cause, f.failed_requests))
        .collect();
    assert_eq!(
        order,
        [
            (Cause::SocketMissing, 277),
            (Cause::UpstreamTimeout, 15),
            (Cause::UpstreamDown, 0)
        ]
    );
    assert_eq!(d.findings[2].severity, Severity::Warning);
}

#[test]
fn probe_failures_without_log_entries_are_findings_of_their_own() {
    let mut ev = Evidence::default();
    ev.upstreams
        .push(upstream("127.0.0.1:7000", "http", &["127.0.0.1:7000"]));
    ev.probes.push(probe("127.0.0.1:7000", "refused", None));
    let d = diagnose(&ev);
    assert_eq!(d.findings.len(), 1);
    let f = &d.findings[0];
    assert_eq!(
        (f.cause, f.severity, f.live),
        (Cause::UpstreamDown, Severity::Critical, true)
    );
    assert!(d.has_problems());
    // a healthy probe gives nothing
    ev.probes[0].connect = "ok".into();
    ev.probes[0].protocol = Some("http".into());
    let d = diagnose(&ev);
    assert!(d.findings.is_empty());
    assert!(!d.has_problems());
}

#[test]
fn backend_made_errors_and_stale_config() {
    let mut ev = Evidence::default();
    ev.upstreams.push(upstream(
        "unix:/run/php/php8.2-fpm.sock",
        "fastcgi",
        &["unix:/run/php/php8.2-fpm.sock"],
    ));
    ev.log.access = Some(AccessEvidence {
        backend_errors: vec![BackendError {
            upstream: "127.0.0.1:8000".into(),
            status: 502,
            count: 8,
            sample: "\"GET /api HTTP/1.1\" 502 us=502".into(),
        }],
        ..AccessEvidence::default()
    });
    // errors for the old socket, which the config on disk no longer names
    ev.log.groups.push(group(
        Cause::SocketMissing,
        "socket_missing",
        "unix:/run/php/php8.1-fpm.sock",
        "fastcgi://",
        20,
    ));
    ev.host.stale = Some(Stale {
        loaded_at: "2026-11-21 09:00".into(),
        newer_files: vec!["sites/app.conf".into()],
        test: Some((true, String::new())),
    });
    let d = diagnose(&ev);
    let causes: Vec<Cause> = d.findings.iter().map(|f| f.cause).collect();
    assert!(causes.contains(&Cause::BackendReturnedError));
    let stale = d
        .findings
        .iter()
        .find(|f| f.cause == Cause::StaleConfig)
        .unwrap();
    assert_eq!(stale.failed_requests, 20);
    assert!(stale.fix.contains("reload"));
}

#[test]
fn a_group_whose_servers_all_fail_is_critical_and_lints_fold_into_findings() {
    let mut ev = Evidence::default();
    ev.upstreams.push(upstream(
        "app",
        "http",
        &["127.0.0.1:8000", "127.0.0.1:8001"],
    ));
    ev.probes.push(probe("127.0.0.1:8000", "refused", None));
    ev.probes.push(probe("127.0.0.1:8001", "refused", None));
    ev.lints.push(ConfigIssue {
        code: "loopback-not-listening".into(),
        cause: Some(Cause::UpstreamDown),
        severity: Severity::Critical,
        at: "nginx.conf:20".into(),
        message: "nothing listens on 127.0.0.1:8000".into(),
        fix: "start the backend".into(),
    });
    let d = diagnose(&ev);
    assert_eq!(d.findings.len(), 2, "{:#?}", d.findings);
    assert!(d.findings.iter().all(|f| f.severity == Severity::Critical));
    assert!(d.findings[0].evidence.iter().any(|e| e.kind == "config"));
    // with one healthy server left, nginx's retries hide the dead one
    ev.probes[1].connect = "ok".into();
    ev.probes[1].protocol = Some("http".into());
    let d = diagnose(&ev);
    assert_eq!(d.findings.len(), 1);
    assert_eq!(d.findings[0].severity, Severity::Warning);
}

#[test]
fn no_live_upstreams_counts_with_the_server_failure_that_caused_it() {
    let mut ev = Evidence::default();
    ev.upstreams.push(upstream(
        "app",
        "http",
        &["127.0.0.1:8000", "127.0.0.1:8001"],
    ));
    let mut refused = group(
        Cause::UpstreamDown,
        "connect_refused",
        "127.0.0.1:8000",
        "http://",
        2,
    );
    refused.failed_requests = Some(0);
    let mut slow = group(
        Cause::UpstreamTimeout,
        "read_timeout",
        "127.0.0.1:8001",
        "http://",
        1,
    );
    slow.failed_requests = Some(1);
    let mut no_live = group(
        Cause::UpstreamDown,
        "no_live_upstreams",
        "app",
        "http://",
        30,
    );
    no_live.failed_requests = Some(30);
    ev.log.groups = vec![no_live, refused, slow];
    let d = diagnose(&ev);
    let top = &d.findings[0];
    assert_eq!(top.cause, Cause::UpstreamDown);
    assert_eq!(top.upstream.as_deref(), Some("127.0.0.1:8000"));
    assert_eq!(top.failed_requests, 30);
    assert!(
        d.findings
            .iter()
            .all(|f| f.upstream.as_deref() != Some("app")),
        "{:#?}",
        d.findings
    );
    assert_eq!(d.findings[1].cause, Cause::UpstreamTimeout);
}

#[test]
fn a_neighbouring_port_is_a_suspect_only_when_no_other_upstream_uses_it() {
    let refused = |ev: &mut Evidence| {
        ev.upstreams
            .push(upstream("127.0.0.1:8000", "http", &["127.0.0.1:8000"]));
        ev.log.groups.push(group(
            Cause::UpstreamDown,
            "connect_refused",
            "127.0.0.1:8000",
            "http://",
            12,
        ));
        ev.host.inspected = true;
        ev.host.listeners.push(listener("0.0.0.0:8003", "python3"));
    };
    // 8003 is nobody's backend: probably where this one went
    let mut ev = Evidence::default();
    refused(&mut ev);
    assert_eq!(diagnose(&ev).findings[0].cause, Cause::AddressMismatch);
    // 8003 is another upstream's backend: this one is simply down
    let mut ev = Evidence::default();
    refused(&mut ev);
    ev.upstreams
        .push(upstream("127.0.0.1:8003", "http", &["127.0.0.1:8003"]));
    assert_eq!(diagnose(&ev).findings[0].cause, Cause::UpstreamDown);
}

#[test]
fn a_probe_slower_than_the_read_timeout_makes_the_timeout_live() {
    let mut ev = Evidence::default();
    let mut u = upstream("127.0.0.1:9100", "http", &["127.0.0.1:9100"]);
    u.settings.read_timeout = Some(Setting {
        value: 2000,
        text: "2s".into(),
        at: Some("nginx.conf:45".into()),
    });
    ev.upstreams.push(u);
    ev.log.groups.push(group(
        Cause::UpstreamTimeout,
        "read_timeout",
        "127.0.0.1:9100",
        "http://",
        15,
    ));
    let mut p = probe("127.0.0.1:9100", "ok", Some("http"));
    p.first_byte_ms = Some(1200.0);
    ev.probes.push(p.clone());
    let f = &diagnose(&ev).findings[0];
    assert_eq!(f.cause, Cause::UpstreamTimeout);
    assert!(!f.live, "answered within the timeout");
    p.first_byte_ms = Some(3500.0);
    ev.probes = vec![p];
    let f = &diagnose(&ev).findings[0];
    assert!(f.live);
    assert!(
        f.evidence
            .iter()
            .any(|e| e.kind == "probe" && e.text.contains("after 3500 ms")),
        "{:#?}",
        f.evidence
    );
}

#[test]
fn a_probe_that_gets_the_same_broken_answer_makes_it_live() {
    let mut ev = Evidence::default();
    ev.upstreams
        .push(upstream("127.0.0.1:9200", "http", &["127.0.0.1:9200"]));
    ev.log.groups.push(group(
        Cause::InvalidResponse,
        "invalid_header",
        "127.0.0.1:9200",
        "http://",
        7,
    ));
    let mut p = probe("127.0.0.1:9200", "ok", Some("http"));
    p.verdict = Some("ok".into());
    ev.probes.push(p.clone());
    assert!(!diagnose(&ev).findings[0].live);
    p.verdict = Some("invalid-response".into());
    ev.probes = vec![p];
    let f = &diagnose(&ev).findings[0];
    assert_eq!(f.cause, Cause::InvalidResponse);
    assert!(f.live);
}

#[test]
fn missing_php_socket_whose_successor_pool_is_not_running() {
    let mut ev = Evidence::default();
    ev.upstreams.push(upstream(
        "unix:/run/php/php7.4-fpm.sock",
        "fastcgi",
        &["unix:/run/php/php7.4-fpm.sock"],
    ));
    ev.log.groups.push(group(
        Cause::SocketMissing,
        "socket_missing",
        "unix:/run/php/php7.4-fpm.sock",
        "fastcgi://",
        12,
    ));
    ev.host.inspected = true;
    // Another pool runs; the one PHP 8.2 would serve the site with does not.
    ev.host.socket_files = vec!["/run/php/slowpool.sock".into()];
    for (name, listen) in [
        ("slow", "/run/php/slowpool.sock"),
        ("www", "/run/php/php8.2-fpm.sock"),
    ] {
        ev.host.php_pools.push(PhpPool {
            name: name.into(),
            defined_at: format!("/etc/php/8.2/fpm/pool.d/{name}.conf:41"),
            listen: listen.into(),
            ..PhpPool::default()
        });
    }
    let d = diagnose(&ev);
    let f = &d.findings[0];
    assert_eq!(f.cause, Cause::SocketMissing);
    assert!(
        f.summary.contains("/run/php/php8.2-fpm.sock") && f.summary.contains("not running"),
        "{}",
        f.summary
    );
    assert!(
        f.fix
            .starts_with("fastcgi_pass unix:/run/php/php8.2-fpm.sock;")
            && f.fix.contains("systemctl start php8.2-fpm"),
        "{}",
        f.fix
    );
}

#[test]
fn a_timeout_on_a_php_fpm_pool_shows_the_pool_and_its_children() {
    for (addr, listen) in [
        ("unix:/run/php/app.sock", "/run/php/app.sock"),
        ("127.0.0.1:9000", "9000"),
        ("127.0.0.1:9000", "127.0.0.1:9000"),
    ] {
        let mut ev = Evidence::default();
        ev.upstreams.push(upstream(addr, "fastcgi", &[addr]));
        ev.log.groups.push(group(
            Cause::UpstreamTimeout,
            "read_timeout",
            addr,
            "fastcgi://",
            8,
        ));
        ev.host.inspected = true;
        ev.host.php_pools.push(PhpPool {
            name: "app".into(),
            defined_at: "/etc/php/8.2/fpm/pool.d/app.conf:3".into(),
            listen: listen.into(),
            max_children: Some(1),
            max_children_reached: 5,
            ..PhpPool::default()
        });
        let d = diagnose(&ev);
        let f = &d.findings[0];
        assert_eq!(f.cause, Cause::UpstreamTimeout);
        let texts: Vec<&str> = f.evidence.iter().map(|e| e.text.as_str()).collect();
        assert!(
            texts
                .iter()
                .any(|t| t.contains("pool 'app'") && t.contains("pm.max_children = 1")),
            "{texts:?}"
        );
        assert!(
            f.evidence
                .iter()
                .any(|e| e.text.contains("server reached pm.max_children") && e.count == Some(5)),
            "{texts:?}"
        );
        assert!(f.fix.contains("slowlog"), "{}", f.fix);
    }
    // A pool on another port is not this backend's.
    let mut ev = Evidence::default();
    ev.upstreams
        .push(upstream("127.0.0.1:9000", "fastcgi", &["127.0.0.1:9000"]));
    ev.log.groups.push(group(
        Cause::UpstreamTimeout,
        "read_timeout",
        "127.0.0.1:9000",
        "fastcgi://",
        8,
    ));
    ev.host.php_pools.push(PhpPool {
        name: "other".into(),
        listen: "9001".into(),
        ..PhpPool::default()
    });
    let d = diagnose(&ev);
    assert!(
        !d.findings[0].fix.contains("slowlog"),
        "{}",
        d.findings[0].fix
    );
}

#[test]
fn a_socket_only_this_process_may_not_open_is_not_a_finding() {
    let addr = "unix:/run/php/app.sock";
    let mut ev = Evidence::default();
    ev.upstreams.push(upstream(addr, "fastcgi", &[addr]));
    let mut p = probe(addr, "permission-denied", None);
    p.errno = Some(13);
    // run as another user: nginx's worker may connect
    p.as_worker = Some((true, None));
    ev.probes.push(p.clone());
    assert!(diagnose(&ev).findings.is_empty());
    // the worker may not either
    p.as_worker = Some((false, Some(13)));
    ev.probes = vec![p];
    let d = diagnose(&ev);
    assert_eq!(d.findings[0].cause, Cause::SocketPermission);
}

#[test]
fn a_listener_on_a_port_nginx_listens_on_is_not_a_suspect() {
    let mut ev = Evidence::default();
    ev.upstreams
        .push(upstream("127.0.0.1:8099", "http", &["127.0.0.1:8099"]));
    ev.log.groups.push(group(
        Cause::UpstreamDown,
        "connect_refused",
        "127.0.0.1:8099",
        "http://",
        3,
    ));
    ev.host.inspected = true;
    // owner not visible (diagnosis not run as root)
    ev.host.listeners.push(Listener {
        address: "0.0.0.0:8089".into(),
        process: None,
        pid: None,
    });
    ev.nginx.listen_ports = vec![80, 8089];
    assert_eq!(diagnose(&ev).findings[0].cause, Cause::UpstreamDown);
    // a port nginx does not listen on stays a suspect
    ev.nginx.listen_ports = vec![80];
    assert_eq!(diagnose(&ev).findings[0].cause, Cause::AddressMismatch);
}

#[test]
fn a_changed_file_nginx_refuses_to_load_explains_why_the_reload_never_happened() {
    let site = "/etc/nginx/sites-enabled/app";
    let lint = |code: &str, cause: Cause, severity: Severity| ConfigIssue {
        code: code.into(),
        cause: Some(cause),
        severity,
        at: format!("{site}:3"),
        message: "proxy_pass http://appbackend:8080: \"appbackend\" names no upstream block".into(),
        fix: "upstream appbackend { server 127.0.0.1:PORT; }".into(),
    };
    let with = |lints: Vec<ConfigIssue>, peers: &[&str]| {
        let mut ev = Evidence::default();
        let mut u = upstream("appbackend:8080", "http", peers);
        u.used_at = vec![format!("{site}:3")];
        ev.upstreams.push(u);
        ev.host.stale = Some(Stale {
            loaded_at: "2026-11-21 21:41:16 UTC".into(),
            newer_files: vec![site.into()],
            test: None,
        });
        ev.lints = lints;
        diagnose(&ev)
            .findings
            .into_iter()
            .find(|f| f.cause == Cause::StaleConfig)
            .unwrap()
    };
    // the name resolves nowhere: nginx refuses the new config
    let f = with(
        vec![lint(
            "upstream-undefined",
            Cause::DnsFailure,
            Severity::Warning,
        )],
        &[],
    );
    assert_eq!(f.severity, Severity::Critical);
    assert!(f.summary.contains("refuses to load"), "{}", f.summary);
    assert!(f.fix.starts_with(&format!("Fix {site}:3")), "{}", f.fix);
    // it resolves (e.g. /etc/hosts): only the reload is missing
    let f = with(
        vec![lint(
            "upstream-undefined",
            Cause::DnsFailure,
            Severity::Warning,
        )],
        &["10.0.0.7:8080"],
    );
    assert!(!f.summary.contains("refuses"), "{}", f.summary);
    // a lint nginx -t fails on, in the changed file
    let f = with(
        vec![lint(
            "include-missing",
            Cause::StaleConfig,
            Severity::Critical,
        )],
        &["10.0.0.7:8080"],
    );
    assert!(f.summary.contains("include-missing"), "{}", f.summary);
}

#[test]
fn a_php_fpm_pool_that_does_not_allow_nginx_is_policy_denied() {
    let addr = "127.0.0.1:9000";
    let with = |allowed: &[&str]| {
        let mut ev = Evidence::default();
        ev.upstreams.push(upstream(addr, "fastcgi", &[addr]));
        ev.log.groups.push(group(
            Cause::BackendCrash,
            "connection_reset",
            addr,
            "fastcgi://",
            6,
        ));
        ev.host.inspected = true;
        ev.host.php_pools.push(PhpPool {
            name: "app".into(),
            defined_at: "/etc/php/8.2/fpm/pool.d/app.conf:4".into(),
            listen: "9000".into(),
            allowed_clients: Some(allowed.iter().map(|a| (*a).to_owned()).collect()),
            ..PhpPool::default()
        });
        diagnose(&ev).findings.remove(0)
    };
    let f = with(&["10.20.30.40"]);
    assert_eq!(f.cause, Cause::PolicyDenied);
    assert!(
        f.fix
            .contains("listen.allowed_clients = 10.20.30.40,127.0.0.1"),
        "{}",
        f.fix
    );
    // nginx's address is allowed (also as an IPv4-mapped IPv6 address)
    assert_eq!(
        with(&["10.20.30.40", "127.0.0.1"]).cause,
        Cause::BackendCrash
    );
    assert_eq!(with(&["::ffff:127.0.0.1"]).cause, Cause::BackendCrash);
    // an entry that is not a plain address: not certain, no conclusion
    assert_eq!(with(&["localhost"]).cause, Cause::BackendCrash);
}

#[test]
fn a_config_finding_on_a_global_limit_joins_the_observed_exhaustion() {
    let mut ev = Evidence::default();
    ev.upstreams
        .push(upstream("127.0.0.1:8105", "http", &["127.0.0.1:8105"]));
    ev.log.groups.push(group(
        Cause::FdExhaustion,
        "socket_fd_exhaustion",
        "127.0.0.1:8105",
        "http://",
        16,
    ));
    ev.lints.push(ConfigIssue {
        code: "worker-connections-over-nofile".into(),
        cause: Some(Cause::FdExhaustion),
        severity: Severity::Warning,
        at: "nginx.conf:5".into(),
        message: "worker_connections 512 is above worker_rlimit_nofile (24)".into(),
        fix: "worker_rlimit_nofile 1024;".into(),
    });
    let d = diagnose(&ev);
    assert_eq!(d.findings.len(), 1, "{:#?}", d.findings);
    assert_eq!(d.findings[0].cause, Cause::FdExhaustion);
    assert!(d.findings[0].locations.contains(&"nginx.conf:5".to_owned()));
}

#[test]
fn a_host_name_that_resolves_elsewhere_now_is_an_address_mismatch_fixed_by_a_reload() {
    let mut ev = Evidence::default();
    let mut u = upstream("dock", "http", &["10.0.0.9:8110"]);
    u.peers[0].hostname = Some("dockapp".into());
    ev.upstreams.push(u);
    // nginx still connects to the address the name had at start-up
    ev.log.groups.push(group(
        Cause::NetworkUnreachable,
        "connect_no_route",
        "10.0.0.5:8110",
        "http://",
        9,
    ));
    ev.host.inspected = true;
    ev.probes.push(probe("10.0.0.9:8110", "ok", Some("http")));
    let d = diagnose(&ev);
    let f = &d.findings[0];
    assert_eq!(f.cause, Cause::AddressMismatch, "{:#?}", d.findings);
    assert!(
        f.summary
            .contains("`dockapp` resolves to 10.0.0.9:8110 now"),
        "{}",
        f.summary
    );
    assert!(f.fix.starts_with("Reload nginx"), "{}", f.fix);
    assert!(f.fix.contains("server dockapp:8110 resolve;"), "{}", f.fix);
    // a changed config file, not the name, explains it: no such claim
    ev.host.stale = Some(Stale {
        loaded_at: "2026-11-21 09:00".into(),
        newer_files: vec!["sites/app.conf".into()],
        test: None,
    });
    let d = diagnose(&ev);
    assert!(
        d.findings
            .iter()
            .all(|f| !f.summary.contains("resolves to 10.0.0.9")),
        "{:#?}",
        d.findings
    );
    // offline (a copied config): names resolve here to other things
    ev.host.stale = None;
    ev.host.inspected = false;
    let d = diagnose(&ev);
    assert_ne!(d.findings[0].cause, Cause::AddressMismatch);
}
