//! Timeouts, buffers, upstream groups, retries and error pages.

mod common;

use common::{lint_http, none, one, with};

fn loc(body: &str) -> String {
    format!(
        "upstream b {{ server 127.0.0.1:8000; server 127.0.0.1:8001; }}\nserver {{ listen 127.0.0.1:8080;\nlocation / {{ proxy_pass http://b; {body} }}\n}}"
    )
}

#[test]
fn low_read_timeouts_and_connect_timeouts() {
    let f = lint_http(&loc("proxy_read_timeout 5s;"));
    let hit = one(&f, "timeout-too-low");
    assert_eq!(
        (hit.line, hit.cause.map(|c| c.code())),
        (5, Some("upstream-timeout"))
    );
    assert!(
        hit.message.starts_with("proxy_read_timeout 5s"),
        "{}",
        hit.message
    );
    one(&lint_http(&loc("proxy_send_timeout 3;")), "timeout-too-low");
    let f = lint_http(&loc("proxy_connect_timeout 500ms;"));
    assert_eq!(
        one(&f, "connect-timeout-too-low").cause.map(|c| c.code()),
        Some("connect-timeout")
    );
    one(
        &lint_http(&loc("proxy_connect_timeout 3m;")),
        "connect-timeout-too-high",
    );
    // a snippet set once at http level is reported once, not per location
    let f = lint_http(&format!(
        "fastcgi_read_timeout 2s;\n{}",
        "server { location /a { fastcgi_pass 127.0.0.1:9000; fastcgi_param SCRIPT_FILENAME x; } location /b { fastcgi_pass 127.0.0.1:9000; fastcgi_param SCRIPT_FILENAME x; } }"
    ));
    assert_eq!(with(&f, "timeout-too-low").len(), 1);
    for ok in [
        "proxy_read_timeout 30s; proxy_connect_timeout 5s;",
        "",
        "proxy_read_timeout 1h;",
    ] {
        let f = lint_http(&loc(ok));
        none(&f, "timeout-too-low");
        none(&f, "connect-timeout-too-low");
        none(&f, "connect-timeout-too-high");
    }
    // a low timeout in a location without any pass is not an upstream timeout
    none(
        &lint_http("proxy_read_timeout 1s; server { location / { return 200; } }"),
        "timeout-too-low",
    );
}

#[test]
fn client_timeouts_that_invite_slowloris() {
    let f = lint_http("client_header_timeout 10m; server { keepalive_timeout 65s; }");
    let hit = one(&f, "client-timeout-too-high");
    assert!(
        hit.message.starts_with("client_header_timeout 600s"),
        "{}",
        hit.message
    );
    none(
        &lint_http(
            "client_body_timeout 120s; upstream u { server 127.0.0.1:1; keepalive_timeout 1h; }",
        ),
        "client-timeout-too-high",
    );
}

#[test]
fn header_buffers_below_one_page() {
    let f = lint_http(&loc("proxy_buffer_size 1k; proxy_buffers 8 1k;"));
    let hit = one(&f, "buffer-size-too-small");
    assert_eq!(hit.cause.map(|c| c.code()), Some("header-too-big"));
    none(
        &lint_http(&loc("proxy_buffer_size 16k; proxy_buffers 8 16k;")),
        "buffer-size-too-small",
    );
    none(
        &lint_http(&loc("proxy_buffer_size 16k; proxy_buffers 8 16k;")),
        "buffers-rejected",
    );
}

#[test]
fn single_server_groups_ignore_max_fails() {
    let f = lint_http(
        "upstream one { server 127.0.0.1:8000 max_fails=3 fail_timeout=30s; } server { }",
    );
    let hit = one(&f, "single-server-max-fails");
    assert!(
        hit.message.contains("max_fails=3 fail_timeout=30s"),
        "{}",
        hit.message
    );
    for ok in [
        // a backup makes the primary a normal peer (nginx counts failures again)
        "upstream one { server 127.0.0.1:8000 max_fails=3; server 127.0.0.1:8001 backup; }",
        "upstream two { server 127.0.0.1:8000 max_fails=3; server 127.0.0.1:8001; }",
        // a host name may resolve to several addresses
        "upstream h { server app.internal:8000 max_fails=3; }",
        "upstream plain { server 127.0.0.1:8000; }",
    ] {
        none(&lint_http(ok), "single-server-max-fails");
    }
}

#[test]
fn every_server_down() {
    let f =
        lint_http("upstream d { server 127.0.0.1:1 down; server 127.0.0.1:2 down; } server { }");
    assert_eq!(
        one(&f, "upstream-all-down").cause.map(|c| c.code()),
        Some("servers-marked-down")
    );
    none(
        &lint_http("upstream d { server 127.0.0.1:1 down; server 127.0.0.1:2; } server { }"),
        "upstream-all-down",
    );
}

#[test]
fn retrying_non_idempotent_requests() {
    let f = lint_http(&loc("proxy_next_upstream error timeout non_idempotent;"));
    assert_eq!(
        one(&f, "next-upstream-non-idempotent")
            .fix
            .split(';')
            .next(),
        Some("proxy_next_upstream error timeout")
    );
    none(
        &lint_http(&loc("proxy_next_upstream error timeout http_502;")),
        "next-upstream-non-idempotent",
    );
}

#[test]
fn error_pages_hiding_upstream_failures() {
    let f = lint_http("server { error_page 502 504 =200 /maintenance.html; }");
    let hit = one(&f, "error-page-masks-status");
    assert_eq!(
        hit.fix,
        "error_page 502 504 /maintenance.html;  (keep the error status; serve the friendly page with it)"
    );
    for ok in [
        "error_page 502 504 /50x.html;",
        "error_page 404 =200 /empty.gif;",
        "error_page 502 = @fallback;",
    ] {
        none(
            &lint_http(&format!("server {{ {ok} }}")),
            "error-page-masks-status",
        );
    }
    let f = lint_http(&format!(
        "error_page 502 503 /50x.html;\n{}",
        loc("proxy_intercept_errors on;")
    ));
    assert!(
        one(&f, "intercept-errors-hides-5xx")
            .message
            .contains("502/503")
    );
    none(
        &lint_http(&format!(
            "error_page 404 /404.html;\n{}",
            loc("proxy_intercept_errors on;")
        )),
        "intercept-errors-hides-5xx",
    );
    none(
        &lint_http(&format!("error_page 502 /50x.html;\n{}", loc(""))),
        "intercept-errors-hides-5xx",
    );
}

#[test]
fn unreadable_include_is_info_and_says_what_was_skipped() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("nginx.conf");
    std::fs::write(&p, "events {}\nhttp {\ninclude secret.conf;\n}\n").unwrap();
    std::fs::write(d.path().join("secret.conf"), "").unwrap();
    let mut cfg = badgateway_conf::load(&p, &Default::default()).unwrap();
    let at = cfg.node(cfg.root[1]).span();
    cfg.issues
        .push(badgateway_conf::LoadIssue::IncludeUnreadable {
            at,
            path: d.path().join("secret.conf"),
            error: "Permission denied (os error 13)".into(),
        });
    let f = badgateway_lint::check(
        &badgateway_conf::Model::build(cfg, common::OLD),
        &Default::default(),
    );
    let hit = one(&f, "include-unreadable");
    assert_eq!(hit.severity, badgateway_cause::Severity::Info);
    assert!(hit.message.contains("were not checked"), "{}", hit.message);
}
