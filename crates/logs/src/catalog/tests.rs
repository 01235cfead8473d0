//! Catalogue tests: every row in place, and the attribution rules of the
//! SPEC (by root cause, not by message).

use badgateway_cause::Cause;

use super::*;
use crate::error::parse_line;

fn c(line: &str) -> Classification {
    classify(&parse_line(line.as_bytes()))
}

const CTX: &str = ", client: 127.0.0.1, server: s, request: \"GET /x HTTP/1.1\", upstream: \"http://127.0.0.1:9/x\", host: \"h\"";
const UCTX: &str = ", client: 127.0.0.1, server: s, request: \"GET /x HTTP/1.1\", upstream: \"fastcgi://unix:/run/php.sock:\", host: \"h\"";

#[test]
fn rows_follow_kind_order() {
    assert_eq!(ENTRIES.len(), Kind::ALL.len());
    for (i, k) in Kind::ALL.iter().enumerate() {
        assert_eq!(ENTRIES[i].kind, *k, "row {i}");
        assert_eq!(k.index(), i);
        let e = entry(*k);
        assert_eq!(e.upstream_error, e.cause.is_some(), "{k:?}");
        if e.upstream_error {
            assert!(
                !e.explanation.is_empty() && !e.fix.is_empty() && !e.checks.is_empty(),
                "{k:?}"
            );
        }
    }
}

#[test]
fn errno_and_family_decide_the_cause() {
    let r = c(&format!(
        "2026/11/21 13:40:41 [error] 1#1: *1 connect() failed (111: Connection refused) while connecting to upstream{CTX}"
    ));
    assert_eq!(
        (r.kind, r.cause, r.status),
        (
            Kind::ConnectRefused,
            Some(Cause::UpstreamDown),
            ClientStatus::Status(502)
        )
    );
    let r = c(&format!(
        "2026/11/21 13:40:41 [crit] 1#1: *1 connect() to unix:/run/php.sock failed (13: Permission denied) while connecting to upstream{UCTX}"
    ));
    assert_eq!(r.cause, Some(Cause::SocketPermission));
    let r = c(&format!(
        "2026/11/21 13:40:41 [crit] 1#1: *1 connect() to 10.0.0.1:80 failed (13: Permission denied) while connecting to upstream{CTX}"
    ));
    assert_eq!(r.cause, Some(Cause::PolicyDenied));
    let r = c(&format!(
        "2026/11/21 13:40:41 [error] 1#1: *1 connect() to unix:/run/php.sock failed (11: Resource temporarily unavailable) while connecting to upstream{UCTX}"
    ));
    assert_eq!(r.cause, Some(Cause::BackendOverloaded));
    let r = c(&format!(
        "2026/11/21 13:40:41 [error] 1#1: *1 connect() to unix:/run/php.sock failed (11: Operation would block) while connecting to upstream{UCTX}"
    ));
    assert_eq!(r.cause, Some(Cause::BackendOverloaded), "musl wording");
    let r = c(&format!(
        "2026/11/21 13:40:41 [crit] 1#1: *1 connect() to unix:/run/php.sock failed (2: No such file or directory) while connecting to upstream{UCTX}"
    ));
    assert_eq!(r.cause, Some(Cause::SocketMissing));
    let r = c(&format!(
        "2026/11/21 13:40:41 [crit] 1#1: *1 connect() to 127.0.0.1:9 failed (99: Cannot assign requested address) while connecting to upstream{CTX}"
    ));
    assert_eq!(r.cause, Some(Cause::PortExhaustion));
    let r = c(&format!(
        "2026/11/21 13:40:41 [error] 1#0: *1 kevent() reported that connect() failed (61: Connection refused) while connecting to upstream{CTX}"
    ));
    assert_eq!(r.cause, Some(Cause::UpstreamDown), "BSD numbering");
}

#[test]
fn timeouts_by_phase() {
    let t = |a: &str| {
        c(&format!(
            "2026/11/21 13:40:41 [error] 1#1: *1 upstream timed out (110: Connection timed out) while {a}{CTX}"
        ))
    };
    assert_eq!(
        t("connecting to upstream").cause,
        Some(Cause::ConnectTimeout)
    );
    assert_eq!(
        t("connecting to upstream").status,
        ClientStatus::Status(504)
    );
    assert_eq!(
        t("reading response header from upstream").cause,
        Some(Cause::UpstreamTimeout)
    );
    assert_eq!(
        t("sending request to upstream").cause,
        Some(Cause::UpstreamTimeout)
    );
    assert_eq!(t("reading upstream").status, ClientStatus::Truncated);
    let up = c(&format!(
        "2026/11/21 13:40:41 [info] 1#1: *1 upstream timed out (110: Connection timed out) while proxying upgraded connection{CTX}"
    ));
    assert!(!up.upstream_error);
    let k = c(&format!(
        "2026/11/21 13:40:41 [error] 1#1: *1 connect() failed (110: Connection timed out) while connecting to upstream{CTX}"
    ));
    assert_eq!(
        (k.cause, k.status),
        (Some(Cause::ConnectTimeout), ClientStatus::Status(502))
    );
}

#[test]
fn not_upstream_errors() {
    for line in [
        format!("2026/11/21 13:40:41 [warn] 1#1: *1 upstream server temporarily disabled while connecting to upstream{CTX}"),
        format!("2026/11/21 13:40:41 [error] 1#1: *1 FastCGI sent in stderr: \"Primary script unknown\" while reading response header from upstream{UCTX}"),
        format!("2026/11/21 13:40:41 [info] 1#1: *1 epoll_wait() reported that client prematurely closed connection, so upstream connection is closed too while reading response header from upstream{CTX}"),
        format!("2026/11/21 13:40:41 [info] 1#1: *1 client prematurely closed connection while reading upstream{CTX}"),
        "2026/11/21 13:40:41 [info] 1#1: *1 recv() failed (104: Connection reset by peer) while waiting for request, client: 1.2.3.4, server: 0.0.0.0:80".to_owned(),
        format!("2026/11/21 13:40:41 [info] 1#1: *1 writev() failed (32: Broken pipe) while sending to client{CTX}"),
        "2026/11/21 13:40:41 [error] 1#1: send() failed (111: Connection refused) while resolving, resolver: 127.0.0.1:53".to_owned(),
        "2026/11/21 13:40:41 [info] 1#1: *1 SSL_do_handshake() failed (SSL: error:0A00006C:SSL routines::bad key share) while SSL handshaking, client: 1.2.3.4, server: 0.0.0.0:443".to_owned(),
        format!("2026/11/21 13:40:41 [warn] 1#1: *1 an upstream response is buffered to a temporary file /x/1 while reading upstream{CTX}"),
        "2026/11/21 13:40:41 [emerg] 1#1: host not found in upstream \"x:8080\" in /etc/nginx/conf.d/a.conf:3".to_owned(),
        "2026/11/21 13:40:41 [error] 1#1: *1 open() \"/var/www/x\" failed (2: No such file or directory), client: 1.2.3.4, server: s, request: \"GET /x HTTP/1.1\"".to_owned(),
        "garbage".to_owned(),
    ] {
        let r = c(&line);
        assert!(!r.upstream_error, "{line}: {r:?}");
        assert_eq!(r.cause, None);
    }
}

#[test]
fn spec_examples() {
    let r = c(&format!(
        "2026/11/21 13:40:41 [error] 1#1: *1 upstream sent invalid header: \"X-Bad\\x01...\" while reading response header from upstream{CTX}"
    ));
    assert_eq!(r.cause, Some(Cause::InvalidResponse));
    assert!(r.version_hint.unwrap().contains("1.21.1"));
    let r = c(&format!(
        "2026/11/21 13:40:41 [error] 1#1: *1 upstream sent no valid HTTP/1.0 header while reading response header from upstream{CTX}"
    ));
    assert_eq!(
        (r.cause, r.status),
        (Some(Cause::ProtocolMismatch), ClientStatus::Http09)
    );
    let r = c(&format!(
        "2026/11/21 13:40:41 [error] 1#1: *1 upstream sent unsupported FastCGI protocol version: 72 while reading response header from upstream{UCTX}"
    ));
    assert_eq!(r.cause, Some(Cause::ProtocolMismatch));
    assert_eq!(
        trailing_number(b"upstream sent unsupported FastCGI protocol version: 72"),
        Some(72)
    );
    let r = c(&format!(
        "2026/11/21 13:40:41 [error] 1#1: *1 no live upstreams while connecting to upstream{CTX}"
    ));
    assert_eq!(
        (r.kind, r.cause),
        (Kind::NoLiveUpstreams, Some(Cause::Unknown))
    );
    let r = c(&format!(
        "2026/11/21 13:40:41 [error] 1#1: *1 upstream sent too big header while reading response header from upstream{CTX}"
    ));
    assert_eq!(r.cause, Some(Cause::HeaderTooBig));
    let r = c(
        "2026/11/21 13:40:41 [error] 1#1: *1 backend.internal could not be resolved (3: Host not found), client: 1.2.3.4, server: s, request: \"GET / HTTP/1.1\", host: \"h\"",
    );
    assert_eq!(r.cause, Some(Cause::DnsFailure));
    let r = c(&format!(
        "2026/11/21 13:40:41 [alert] 1#1: *1 socket() failed (24: Too many open files) while connecting to upstream{CTX}"
    ));
    assert_eq!(
        (r.cause, r.status),
        (Some(Cause::FdExhaustion), ClientStatus::Status(500))
    );
    let r = c(&format!(
        "2026/11/21 13:40:41 [alert] 1#1: *1 768 worker_connections are not enough while connecting to upstream{CTX}"
    ));
    assert_eq!(r.cause, Some(Cause::WorkerConnections));
    let r = c(&format!(
        "2026/11/21 13:40:41 [warn] 1#1: *1 upstream sent more data than specified in \"Content-Length\" header while reading upstream{CTX}"
    ));
    assert_eq!(r.cause, Some(Cause::InvalidResponse));
    let r = c(&format!(
        "2026/11/21 13:40:41 [error] 1#1: *1 SSL_do_handshake() failed (SSL: error:0A00010B:SSL routines::wrong version number) while SSL handshaking to upstream{CTX}"
    ));
    assert_eq!(r.cause, Some(Cause::TlsError));
    let r = c(&format!(
        "2026/11/21 13:40:41 [error] 1#1: *1 recv() failed (104: Connection reset by peer) while reading response header from upstream{CTX}"
    ));
    assert_eq!(r.cause, Some(Cause::BackendCrash));
    let r = c(&format!(
        "2026/11/21 13:40:41 [error] 1#1: *1 some future message while reading response header from upstream{CTX}"
    ));
    assert_eq!(
        (r.kind, r.cause),
        (Kind::UpstreamOther, Some(Cause::Unknown))
    );
}

#[test]
fn every_action_text_has_its_phase() {
    for (a, p) in [
        ("connecting to upstream", Phase::Connect),
        ("SSL handshaking to upstream", Phase::TlsHandshake),
        ("sending request to upstream", Phase::SendRequest),
        ("reading response header from upstream", Phase::ReadHeader),
        ("reading upstream", Phase::ReadBody),
        ("proxying upgraded connection", Phase::Upgraded),
        ("resolving", Phase::Resolve),
        ("sending to client", Phase::Client),
        ("sending response to client", Phase::Client),
        ("reading client request line", Phase::Client),
        ("reading client request headers", Phase::Client),
        ("reading client request body", Phase::Client),
        ("waiting for request", Phase::Client),
        ("SSL handshaking", Phase::Client),
        ("sending early hints to client", Phase::Client),
        ("reading PROXY protocol", Phase::Client),
        ("closing request", Phase::Client),
        ("lingering close", Phase::Client),
        ("processing HTTP/2 connection", Phase::Client),
        ("processing HTTP/3 connection", Phase::Client),
        ("reading upstreaM", Phase::Other),
        ("connecting to upstreams", Phase::Other),
        ("", Phase::Other),
    ] {
        assert_eq!(Phase::from_action(Some(a.as_bytes())), p, "{a}");
    }
    assert_eq!(Phase::from_action(None), Phase::Other);
}

/// The quick path agrees with the full classification on real-looking lines.
#[test]
fn quick_kind_agrees_with_classify() {
    let data = include_bytes!("../../tests/data/gen-error.log");
    let mut seen = 0;
    for line in data.split(|&c| c == b'\n').filter(|l| !l.is_empty()) {
        let e = parse_line(line);
        let mut tc = crate::error::TimeCache::default();
        let (_, body) = crate::error::parse_head(line, &mut tc);
        if let Some(k) = body.and_then(quick_kind) {
            seen += 1;
            assert_eq!(classify(&e).kind, k, "{}", String::from_utf8_lossy(line));
        }
    }
    assert!(seen > 1000);
}
