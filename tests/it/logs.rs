//! `badgateway logs` on what a real nginx wrote while it proxied to real
//! broken backends: every failure is attributed to the right cause, with
//! the right counts, and access-log 5xx are linked to their causes.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixListener;
use std::time::Duration;

use badgateway_lab::nginx::LAB_LOG_FORMAT;
use badgateway_lab::{NginxBuilder, free_port, http, require_nginx};
use serde_json::Value;

use crate::backends::{Fault, start};
use crate::util::{badgateway, stdout};

fn counts(v: &Value) -> BTreeMap<String, u64> {
    v.as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
                .collect()
        })
        .unwrap_or_default()
}

fn get(addr: std::net::SocketAddr, path: &str) -> u16 {
    http::request(addr, "GET", path, &[], Duration::from_secs(10))
        .map(|r| r.status)
        .unwrap_or(0)
}

#[test]
fn real_nginx_failures_are_counted_by_root_cause() {
    let Some(bin) = require_nginx() else { return };
    let close = start(Fault::CloseAfterRead);
    let reset = start(Fault::Reset);
    let stall = start(Fault::Stall(Duration::from_secs(3)));
    let big = start(Fault::Reply(
        format!(
            "HTTP/1.1 200 OK\r\nX-Big: {}\r\nContent-Length: 2\r\n\r\nok",
            "a".repeat(12_000)
        )
        .into_bytes(),
    ));
    let http_only = start(Fault::Reply(
        b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec(),
    ));
    let own502 = start(Fault::Reply(
        b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 5\r\nConnection: close\r\n\r\noops!".to_vec(),
    ));
    let bad_header = start(Fault::Reply(
        b"HTTP/1.1 200 OK\r\nX-Bad\x01: y\r\n\r\n".to_vec(),
    ));
    let not_http = start(Fault::Reply(b"garbage from a redis port\r\n\r\n".to_vec()));
    let (dead, dead1, dead2) = (free_port(), free_port(), free_port());
    let sockdir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(sockdir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let denied = sockdir.path().join("denied.sock");
    let _listener = UnixListener::bind(&denied).unwrap();
    std::fs::set_permissions(&denied, std::fs::Permissions::from_mode(0o000)).unwrap();
    let missing = sockdir.path().join("missing.sock");
    let conf = format!(
        "upstream backend {{ server 127.0.0.1:{dead1}; server 127.0.0.1:{dead2}; }}
         server {{ listen 127.0.0.1:@LISTEN@; server_name lab.example.com;
           location /refused {{ proxy_pass http://127.0.0.1:{dead}; }}
           location /close {{ proxy_pass http://127.0.0.1:{c}; }}
           location /reset {{ proxy_pass http://127.0.0.1:{r}; }}
           location /stall {{ proxy_pass http://127.0.0.1:{s}; proxy_read_timeout 1s; }}
           location /bighdr {{ proxy_pass http://127.0.0.1:{b}; }}
           location /fcgi-http {{ fastcgi_pass 127.0.0.1:{h}; include_missing_guard off; }}
           location /nosock {{ fastcgi_pass unix:{missing}; }}
           location /denied {{ fastcgi_pass unix:{denied}; }}
           location /group {{ proxy_pass http://backend; }}
           location /up502 {{ proxy_pass http://127.0.0.1:{o}; }}
           location /invalid {{ proxy_pass http://127.0.0.1:{i}; }}
           location /http09 {{ proxy_pass http://127.0.0.1:{n}; }}
         }}",
        c = close.port,
        r = reset.port,
        s = stall.port,
        b = big.port,
        h = http_only.port,
        o = own502.port,
        i = bad_header.port,
        n = not_http.port,
        missing = missing.display(),
        denied = denied.display(),
    )
    .replace(" include_missing_guard off;", "");
    let nginx = NginxBuilder::new(bin, conf)
        .error_level("warn")
        .start()
        .expect("nginx starts");
    let a = nginx.addr();
    let mut sent = 0;
    let mut expect = |path: &str, times: usize, status: u16| {
        for _ in 0..times {
            assert_eq!(get(a, path), status, "{path}");
            sent += 1;
        }
    };
    expect("/refused", 3, 502);
    expect("/close", 2, 502);
    expect("/reset", 2, 502);
    expect("/stall", 1, 504);
    expect("/bighdr", 2, 502);
    expect("/fcgi-http", 2, 502);
    expect("/nosock", 2, 502);
    expect("/denied", 2, 502);
    expect("/group", 3, 502); // 2 refused + disabled, then 2× no live upstreams
    expect("/up502", 2, 502);
    expect("/invalid", 1, 502);
    // HTTP/0.9 fallback: no status line reaches the client.
    assert_eq!(get(a, "/http09"), 0);
    sent += 1;
    assert!(nginx.wait_access_lines(sent, Duration::from_secs(5)));

    let err = nginx.error_log.display().to_string();
    let acc = nginx.access_log.display().to_string();
    let fmt = LAB_LOG_FORMAT;
    let o = badgateway(&["logs", &err, &acc, "--log-format", fmt, "--format", "json"]);
    assert_eq!(o.status.code(), Some(1), "upstream failures → exit 1");
    let r: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let log = nginx.error_log_text();
    let by_cause = counts(&r["by_cause"]);
    let want: BTreeMap<String, u64> = [
        ("upstream-down", 3 + 2 + 2),
        ("backend-crash", 2 + 2),
        ("upstream-timeout", 1),
        ("header-too-big", 2),
        ("protocol-mismatch", 2 + 1),
        ("socket-missing", 2),
        ("socket-permission", 2),
        ("invalid-response", 1),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    assert_eq!(by_cause, want, "error log:\n{log}");
    assert_eq!(r["upstream_errors"], 22);
    let by_up = counts(&r["by_upstream"]);
    assert_eq!(
        by_up["backend"], 2,
        "no live upstreams counted against the group"
    );
    assert_eq!(by_up[&format!("127.0.0.1:{dead}")], 3);
    assert_eq!(by_up[&format!("unix:{}", missing.display())], 2);
    let nolive = &r["error_log"]["no_live"][0];
    assert_eq!(nolive["group"], "backend");
    assert_eq!(nolive["attributed"]["upstream-down"], 2);
    let kinds = counts(&r["error_log"]["by_kind"]);
    assert_eq!(kinds["peer_disabled"], 2);
    assert_eq!(kinds["connection_reset"], 2, "{log}");
    assert_eq!(kinds["premature_close"], 2);
    assert_eq!(kinds["fastcgi_version"], 2);
    assert_eq!(kinds["no_valid_http_header"], 1);

    // Access log: every line parsed, 5xx accounted, the backend's own 502
    // recognised, the rest explained by the error log.
    let al = &r["access_log"];
    assert_eq!(al["requests"], sent as u64);
    assert_eq!(al["unparsed"], 0);
    // 22 failures minus the 504 and the HTTP/0.9 one, plus the backend's own two 502s.
    assert_eq!(al["by_status"]["502"], 21);
    assert_eq!(al["by_status"]["504"], 1);
    assert_eq!(al["by_status"]["009"], 1);
    assert_eq!(al["backend_returned_error"]["count"], 2);
    let j = &r["join"];
    assert_eq!(j["status_502"], al["by_status"]["502"]);
    assert_eq!(j["by_cause"]["backend-returned-error"], 2);
    // Every nginx-made 502 is linked to its error-log line.
    assert_eq!(
        j["explained_502"].as_u64().unwrap() + 2,
        j["status_502"].as_u64().unwrap(),
        "{}",
        serde_json::to_string_pretty(j).unwrap()
    );
    assert_eq!(j["explained_504"], 1);
    assert_eq!(j["unexplained"], 0);
    // The request that tried both dead servers shows its chain.
    let chains = j["chains"].as_array().unwrap();
    assert!(
        chains
            .iter()
            .any(|c| c["chain"] == "upstream-down (502), upstream-down (502) → 502"),
        "{chains:?}"
    );

    // The text report leads with the verdict and shows a raw line per cause.
    let o = badgateway(&["logs", &err]);
    let text = stdout(&o);
    assert!(text.contains("VERDICT"), "{text}");
    assert!(text.contains("upstream-down"));
    assert!(text.contains("example: "));

    // At the default `error` level the warnings are missing: attribution
    // then needs the group's servers (from the config or the flag).
    let dir = tempfile::tempdir().unwrap();
    let quiet = dir.path().join("error.log");
    let no_warn: String = log
        .lines()
        .filter(|l| !l.contains(" [warn] "))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&quiet, no_warn).unwrap();
    let q = quiet.display().to_string();
    let r: Value =
        serde_json::from_str(&stdout(&badgateway(&["logs", &q, "--format", "json"]))).unwrap();
    assert_eq!(r["error_log"]["no_live"][0]["unattributed"], 2);
    let group = format!("backend=127.0.0.1:{dead1},127.0.0.1:{dead2}");
    let r: Value = serde_json::from_str(&stdout(&badgateway(&[
        "logs",
        &q,
        "--format",
        "json",
        "--upstream-group",
        &group,
    ])))
    .unwrap();
    assert_eq!(
        r["error_log"]["no_live"][0]["attributed"]["upstream-down"],
        2
    );
    assert_eq!(r["by_cause"]["upstream-down"], 7);
}

#[test]
fn a_healthy_site_exits_0() {
    let Some(bin) = require_nginx() else { return };
    let ok = start(Fault::Reply(
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok".to_vec(),
    ));
    let nginx = NginxBuilder::new(
        bin,
        format!(
            "server {{ listen 127.0.0.1:@LISTEN@; server_name lab.example.com;
               location / {{ proxy_pass http://127.0.0.1:{}; }} }}",
            ok.port
        ),
    )
    .start()
    .expect("nginx starts");
    for _ in 0..3 {
        assert_eq!(get(nginx.addr(), "/"), 200);
    }
    assert!(nginx.wait_access_lines(3, Duration::from_secs(5)));
    let err = nginx.error_log.display().to_string();
    let acc = nginx.access_log.display().to_string();
    let o = badgateway(&[
        "logs",
        &err,
        &acc,
        "--log-format",
        LAB_LOG_FORMAT,
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let r: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(r["upstream_errors"], 0);
    assert_eq!(r["access_log"]["requests"], 3);
}

/// A premature close on a reused keepalive connection that nginx retried
/// on the same server with success is a keepalive race, not a crash: the
/// access log's retry chain is the evidence.
#[test]
fn keepalive_race_is_told_apart_from_a_crash() {
    let Some(bin) = require_nginx() else { return };
    let be = start(Fault::CloseReused);
    let nginx = NginxBuilder::new(
        bin,
        format!(
            "upstream ka {{ server 127.0.0.1:{}; keepalive 4; }}
             server {{ listen 127.0.0.1:@LISTEN@; server_name lab.example.com;
               location / {{ proxy_pass http://ka; proxy_http_version 1.1;
                             proxy_set_header Connection \"\"; }} }}",
            be.port
        ),
    )
    .start()
    .expect("nginx starts");
    for _ in 0..4 {
        assert_eq!(get(nginx.addr(), "/"), 200);
    }
    assert!(nginx.wait_access_lines(4, Duration::from_secs(5)));
    let log = nginx.error_log_text();
    let access = nginx.access_log_text();
    assert!(
        log.contains("upstream prematurely closed connection"),
        "{log}"
    );
    assert!(access.contains("us=\"502, 200\""), "{access}");
    let err = nginx.error_log.display().to_string();
    let acc = nginx.access_log.display().to_string();
    let fmt = LAB_LOG_FORMAT;
    // Error log alone: the message points to a crash.
    let r: Value =
        serde_json::from_str(&stdout(&badgateway(&["logs", &err, "--format", "json"]))).unwrap();
    assert!(
        r["by_cause"]["backend-crash"].as_u64().unwrap() >= 1,
        "{}",
        r["by_cause"]
    );
    // With the access log: the same entries are keepalive races.
    let o = badgateway(&["logs", &err, &acc, "--log-format", fmt, "--format", "json"]);
    let r: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let races = r["by_cause"]["keepalive-race"].as_u64().unwrap_or(0);
    assert!(races >= 1, "{}\n{log}\n{access}", r["by_cause"]);
    assert_eq!(
        r["by_cause"].get("backend-crash"),
        None,
        "{}",
        r["by_cause"]
    );
    assert_eq!(r["access_log"]["retries"]["recovered_same_peer"], races);
    // Every request succeeded in the end.
    assert_eq!(r["access_log"]["status_5xx"], 0);
}
