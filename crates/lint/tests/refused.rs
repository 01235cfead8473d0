//! Lints for configurations nginx refuses. Each case is checked three
//! ways: the lint fires on the bad config, stays quiet on the corrected
//! one, and the real nginx (`nginx -t`) agrees on which one it rejects.

mod common;

use std::process::Command;

use common::{http, lint_http, none, one};

/// (lint code, bad http body, corrected http body, text nginx -t prints).
const CASES: &[(&str, &str, &str, &str)] = &[
    (
        "pass-invalid",
        "server { listen 127.0.0.1:1; location /x { proxy_pass 127.0.0.1:1; } }",
        "server { listen 127.0.0.1:1; location /x { proxy_pass http://127.0.0.1:1; } }",
        "invalid URL prefix",
    ),
    (
        "pass-invalid",
        "server { listen 127.0.0.1:1; location /x { proxy_pass http://127.0.0.1:0; } }",
        "server { listen 127.0.0.1:1; location /x { proxy_pass http://127.0.0.1:1; } }",
        "invalid port",
    ),
    (
        "pass-invalid",
        "server { listen 127.0.0.1:1; location /x { fastcgi_pass 127.0.0.1; } }",
        "server { listen 127.0.0.1:1; location /x { fastcgi_pass 127.0.0.1:9000; } }",
        "no port in upstream \"127.0.0.1\"",
    ),
    (
        "pass-invalid",
        "server { listen 127.0.0.1:1; location /x { grpc_pass grpc://127.0.0.1; } }",
        "upstream g { server 127.0.0.1:50051; } server { listen 127.0.0.1:1; location /x { grpc_pass grpc://g; } }",
        "no port in upstream",
    ),
    (
        "pass-uri-not-allowed",
        "server { listen 127.0.0.1:1; location ~ ^/x { proxy_pass http://127.0.0.1:1/foo; } }",
        "server { listen 127.0.0.1:1; location ~ ^/x { proxy_pass http://127.0.0.1:1; } }",
        "cannot have URI part",
    ),
    (
        "pass-uri-not-allowed",
        "server { listen 127.0.0.1:1; location @x { proxy_pass http://127.0.0.1:1/; } }",
        "server { listen 127.0.0.1:1; location @x { proxy_pass http://127.0.0.1:1; } }",
        "cannot have URI part",
    ),
    (
        "pass-uri-not-allowed",
        "server { listen 127.0.0.1:1; location /x { if ($arg_a) { proxy_pass http://127.0.0.1:1/; } } }",
        "server { listen 127.0.0.1:1; location /x { if ($arg_a) { proxy_pass http://127.0.0.1:1; } } }",
        "cannot have URI part",
    ),
    (
        "pass-uri-not-allowed",
        "server { listen 127.0.0.1:1; location /x { limit_except GET { proxy_pass http://127.0.0.1:1/x; } } }",
        "server { listen 127.0.0.1:1; location /x { limit_except GET { proxy_pass http://127.0.0.1:1; } } }",
        "cannot have URI part",
    ),
    (
        "upstream-port-on-group",
        "upstream b { server 127.0.0.1:1; } server { listen 127.0.0.1:1; location /x { proxy_pass http://b:8080; } }",
        "upstream b { server 127.0.0.1:8080; } server { listen 127.0.0.1:1; location /x { proxy_pass http://b; } }",
        "may not have port 8080",
    ),
    (
        "upstream-empty",
        "upstream b { } server { listen 127.0.0.1:1; location /x { proxy_pass http://b; } }",
        "upstream b { server 127.0.0.1:1; } server { listen 127.0.0.1:1; location /x { proxy_pass http://b; } }",
        "no servers are inside upstream",
    ),
    (
        "upstream-server-invalid",
        "upstream b { ip_hash; server 127.0.0.1:1; server 127.0.0.1:2 backup; } server { listen 127.0.0.1:1; }",
        "upstream b { least_conn; server 127.0.0.1:1; server 127.0.0.1:2 backup; } server { listen 127.0.0.1:1; }",
        "does not support parameter \"backup\"",
    ),
    (
        "upstream-server-invalid",
        "upstream b { server http://127.0.0.1:1; } server { listen 127.0.0.1:1; }",
        "upstream b { server 127.0.0.1:1; } server { listen 127.0.0.1:1; }",
        "invalid host",
    ),
    (
        "upstream-server-invalid",
        "upstream b { server 127.0.0.1:1 max_fails=x; } server { listen 127.0.0.1:1; }",
        "upstream b { server 127.0.0.1:1 max_fails=3; } server { listen 127.0.0.1:1; }",
        "invalid parameter",
    ),
    (
        "upstream-server-invalid",
        "upstream b { zone b 64k; server 127.0.0.1:1 resolve; } server { listen 127.0.0.1:1; }",
        "upstream b { zone b 64k; server 127.0.0.1:1; } server { listen 127.0.0.1:1; }",
        "invalid parameter \"resolve\"",
    ),
    (
        "buffers-rejected",
        "proxy_buffer_size 32k; server { listen 127.0.0.1:1; }",
        "proxy_buffer_size 32k; proxy_buffers 8 32k; server { listen 127.0.0.1:1; }",
        "must be less than the size of all \"proxy_buffers\" minus one buffer",
    ),
    (
        "buffers-rejected",
        "server { listen 127.0.0.1:1; location / { proxy_buffer_size 16k; proxy_busy_buffers_size 8k; } }",
        "server { listen 127.0.0.1:1; location / { proxy_buffer_size 16k; proxy_buffers 4 16k; proxy_busy_buffers_size 32k; } }",
        "must be equal to or greater than the maximum",
    ),
    (
        "buffers-rejected",
        "fastcgi_buffers 1 4k; server { listen 127.0.0.1:1; }",
        "fastcgi_buffers 2 4k; fastcgi_busy_buffers_size 4k; server { listen 127.0.0.1:1; }",
        "there must be at least 2 \"fastcgi_buffers\"",
    ),
    (
        "buffers-rejected",
        "proxy_buffer_size 16k; proxy_buffers 8 16k; proxy_temp_file_write_size 8k; server { listen 127.0.0.1:1; }",
        "proxy_buffer_size 16k; proxy_buffers 8 16k; proxy_temp_file_write_size 16k; server { listen 127.0.0.1:1; }",
        "proxy_temp_file_write_size",
    ),
    (
        "buffers-rejected",
        "proxy_buffer_size 16k; proxy_buffers 8 16k; proxy_max_temp_file_size 8k; server { listen 127.0.0.1:1; }",
        "proxy_buffer_size 16k; proxy_buffers 8 16k; proxy_max_temp_file_size 0; server { listen 127.0.0.1:1; }",
        "proxy_max_temp_file_size",
    ),
    (
        "next-upstream-invalid",
        "server { listen 127.0.0.1:1; location /x { fastcgi_pass 127.0.0.1:9000; fastcgi_next_upstream error http_502; } }",
        "server { listen 127.0.0.1:1; location /x { fastcgi_pass 127.0.0.1:9000; fastcgi_next_upstream error timeout http_503; } }",
        "invalid value \"http_502\"",
    ),
    (
        "next-upstream-invalid",
        "server { listen 127.0.0.1:1; location /x { uwsgi_pass 127.0.0.1:9000; uwsgi_next_upstream http_504; } }",
        "server { listen 127.0.0.1:1; location /x { grpc_pass 127.0.0.1:9000; grpc_next_upstream http_504; } }",
        "invalid value \"http_504\"",
    ),
    (
        "upstream-name-typo",
        "upstream backend { server 127.0.0.1:1; } server { listen 127.0.0.1:1; location /x { proxy_pass http://backnd; } }",
        "upstream backend { server 127.0.0.1:1; } server { listen 127.0.0.1:1; location /x { proxy_pass http://backend; } }",
        "host not found in upstream \"backnd\"",
    ),
];

#[test]
fn lints_fire_on_the_bad_config_and_not_on_the_fixed_one() {
    for (code, bad, good, _) in CASES {
        let f = lint_http(bad);
        let hit = one(&f, code);
        assert_eq!(hit.file, "nginx.conf");
        assert_eq!(hit.line, 3, "{code}: {hit:?}");
        assert!(!hit.fix.is_empty() && !hit.explanation.is_empty());
        none(&lint_http(good), code);
    }
}

#[test]
fn nginx_t_rejects_exactly_the_bad_configs() {
    let Some(nginx) = badgateway_lab::require_nginx() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    let nginx_t = |body: &str| {
        let text = http(&format!(
            "access_log off; client_body_temp_path {d}/t1; proxy_temp_path {d}/t2; fastcgi_temp_path {d}/t3; uwsgi_temp_path {d}/t4; scgi_temp_path {d}/t5;\n{body}"
        ));
        let path = dir.path().join("nginx.conf");
        std::fs::write(&path, text).unwrap();
        let out = Command::new(&nginx)
            .args(["-t", "-q", "-p"])
            .arg(dir.path())
            .arg("-c")
            .arg(&path)
            .args(["-e", "/dev/stderr", "-g"])
            .arg(format!("pid {d}/nginx.pid;"))
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    for (code, bad, good, says) in CASES {
        // nginx -t would resolve the misspelt name with the system resolver:
        // tests send no traffic beyond loopback.
        if *code == "upstream-name-typo" {
            continue;
        }
        let (ok, err) = nginx_t(bad);
        assert!(
            !ok && err.contains(says),
            "{code}: nginx -t accepted or said otherwise: {err}\n{bad}"
        );
        let (ok, err) = nginx_t(good);
        assert!(
            ok,
            "{code}: nginx -t rejected the fixed config: {err}\n{good}"
        );
    }
}

#[test]
fn missing_include_is_critical_and_names_the_file() {
    let f = common::lint_files(
        &http("include sites/*.conf;\ninclude snippets/gone.conf;"),
        &[("sites/a.conf", "server { listen 127.0.0.1:1; }")],
        common::OLD,
        &Default::default(),
    );
    let hit = one(&f, "include-missing");
    assert_eq!((hit.file.as_str(), hit.line), ("nginx.conf", 4));
    assert!(
        hit.message.contains("snippets/gone.conf"),
        "{}",
        hit.message
    );
    assert_eq!(hit.severity, badgateway_cause::Severity::Critical);
}

#[test]
fn resolve_parameter_follows_the_version() {
    let body = "resolver 127.0.0.53; upstream b { zone b 64k; server app.internal resolve; } server { listen 127.0.0.1:1; }";
    let old = common::lint_files(&http(body), &[], common::OLD, &Default::default());
    one(&old, "upstream-server-invalid");
    let new = common::lint_files(&http(body), &[], common::NEW, &Default::default());
    none(&new, "upstream-server-invalid");
    let no_zone = common::lint_files(
        &http(
            "resolver 127.0.0.53; upstream b { server app.internal resolve; } server { listen 127.0.0.1:1; }",
        ),
        &[],
        common::NEW,
        &Default::default(),
    );
    assert!(
        one(&no_zone, "upstream-server-invalid")
            .message
            .contains("zone")
    );
}
