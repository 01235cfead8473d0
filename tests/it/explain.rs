//! `badgateway explain` on lines a real nginx wrote.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use badgateway_lab::{NginxBuilder, free_port, http, require_nginx};
use serde_json::Value;

use crate::backends::{Fault, start};
use crate::util::{badgateway, stdout};

fn explain_json(line: &str) -> (Option<i32>, Value) {
    let o = badgateway(&["explain", line, "--format", "json"]);
    (
        o.status.code(),
        serde_json::from_str(&stdout(&o)).unwrap_or(Value::Null),
    )
}

#[test]
fn explains_real_nginx_lines() {
    let Some(bin) = require_nginx() else { return };
    let dead = free_port();
    let stall = start(Fault::Stall(Duration::from_secs(3)));
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("php-fpm.sock");
    let nginx = NginxBuilder::new(
        bin,
        format!(
            "server {{ listen 127.0.0.1:@LISTEN@; server_name lab.example.com;
               location /refused {{ proxy_pass http://127.0.0.1:{dead}; }}
               location /slow {{ proxy_pass http://127.0.0.1:{}; proxy_read_timeout 1s; }}
               location /php {{ fastcgi_pass unix:{}; }} }}",
            stall.port,
            sock.display()
        ),
    )
    .start()
    .expect("nginx starts");
    for p in ["/refused", "/slow", "/php"] {
        let _ = http::get(nginx.addr(), p);
    }
    assert!(nginx.wait_access_lines(3, Duration::from_secs(5)));
    let log = nginx.error_log_text();
    let line = |needle: &str| {
        log.lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no {needle:?} in {log}"))
            .to_owned()
    };

    let (code, v) = explain_json(&line("Connection refused"));
    assert_eq!(code, Some(1));
    let x = &v["explanation"];
    assert_eq!(x["cause"], "upstream-down");
    assert_eq!(x["errno"]["name"], "ECONNREFUSED");
    assert_eq!(x["client_status"]["code"], 502);
    assert_eq!(x["phase"], "connect");
    assert_eq!(x["context"]["peer"], format!("127.0.0.1:{dead}"));
    assert!(x["checks"].as_array().unwrap().len() >= 2);

    let (_, v) = explain_json(&line("upstream timed out"));
    let x = &v["explanation"];
    assert_eq!(x["cause"], "upstream-timeout");
    assert_eq!(x["client_status"]["code"], 504);
    assert!(
        x["directives"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d == "proxy_read_timeout")
    );

    let (_, v) = explain_json(&line("No such file or directory"));
    assert_eq!(v["explanation"]["cause"], "socket-missing");

    // Text output reads top-down and names the fix.
    let o = badgateway(&["explain", &line("Connection refused")]);
    let text = stdout(&o);
    assert!(
        text.contains("VERDICT") && text.contains("upstream-down") && text.contains("FIX"),
        "{text}"
    );

    // Several lines on stdin: each explained.
    let mut c = Command::new(env!("CARGO_BIN_EXE_badgateway"))
        .args(["explain", "--format", "json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    c.stdin.take().unwrap().write_all(log.as_bytes()).unwrap();
    let out = c.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["explanations"].as_array().unwrap().len(),
        log.lines().count()
    );
}

#[test]
fn explain_message_only_and_non_upstream_and_empty() {
    let (code, v) =
        explain_json("upstream sent too big header while reading response header from upstream");
    assert_eq!(code, Some(1));
    assert_eq!(v["explanation"]["cause"], "header-too-big");
    assert_eq!(v["explanation"]["header_missing"], true);
    let (code, v) = explain_json(
        "2026/11/21 13:40:41 [info] 7#7: *9 client 1.2.3.4 closed keepalive connection",
    );
    assert_eq!(code, Some(0));
    assert_eq!(v["explanation"]["upstream_error"], false);
    let o = badgateway(&["explain", "   "]);
    assert_eq!(o.status.code(), Some(2));
    let (_, v) = explain_json(
        "2026/11/21 13:40:41 [error] 7#7: *3 upstream sent unsupported FastCGI protocol version: 72 while reading response header from upstream, client: 127.0.0.1, server: s, request: \"GET / HTTP/1.1\", upstream: \"fastcgi://127.0.0.1:8000\", host: \"h\"",
    );
    assert_eq!(v["explanation"]["cause"], "protocol-mismatch");
    assert!(
        v["explanation"]["notes"][0]
            .as_str()
            .unwrap()
            .contains("HTTP")
    );
}
