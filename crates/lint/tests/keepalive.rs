//! Upstream keepalive needs HTTP/1.1 and an empty Connection header in the
//! effective proxy_set_header list (before nginx 1.29.7).

mod common;

use badgateway_lint::HostFacts;
use common::{NEW, OLD, http, lint_files, lint_http, none, one};

const UP: &str = "upstream app { server 127.0.0.1:8000; server 127.0.0.1:8001; keepalive 16; }";

fn site(location: &str) -> String {
    format!("{UP}\nserver {{ listen 127.0.0.1:8080;\n{location}\n}}")
}

#[test]
fn keepalive_without_http11_is_reported_at_the_pass() {
    let f = lint_http(&site("location / {\nproxy_pass http://app;\n}"));
    let hit = one(&f, "keepalive-without-http11");
    assert_eq!(hit.line, 6);
    assert_eq!(hit.cause.map(|c| c.code()), Some("keepalive-race"));
    assert!(hit.message.contains("keepalive 16"), "{}", hit.message);
    assert!(hit.message.contains("HTTP/1.0"), "{}", hit.message);
    assert!(
        hit.fix.contains("proxy_http_version 1.1;")
            && hit.fix.contains("proxy_set_header Connection \"\";")
    );
}

#[test]
fn both_directives_are_needed() {
    let f = lint_http(&site(
        "location / { proxy_pass http://app; proxy_http_version 1.1; }",
    ));
    let hit = one(&f, "keepalive-without-http11");
    assert!(hit.message.contains("Connection: close"), "{}", hit.message);
    assert_eq!(
        hit.fix.split(';').next(),
        Some("proxy_set_header Connection \"\"")
    );
    let f = lint_http(&site(
        "location / { proxy_pass http://app; proxy_set_header Connection \"\"; }",
    ));
    assert!(
        one(&f, "keepalive-without-http11")
            .fix
            .starts_with("proxy_http_version 1.1;")
    );
}

#[test]
fn a_location_header_drops_the_inherited_empty_connection() {
    let body = format!(
        "{UP}\nserver {{ listen 127.0.0.1:8080;\nproxy_http_version 1.1;\nproxy_set_header Connection \"\";\nlocation / {{\nproxy_set_header X-Real-IP $remote_addr;\nproxy_pass http://app;\n}}\n}}"
    );
    let f = lint_http(&body);
    let hit = one(&f, "keepalive-without-http11");
    assert!(
        hit.explanation
            .contains("Connection \"\" at nginx.conf:6 is not inherited"),
        "{}",
        hit.explanation
    );
    assert!(
        hit.explanation.contains("nginx.conf:8 replaces"),
        "{}",
        hit.explanation
    );
}

#[test]
fn correct_setups_are_not_flagged() {
    for ok in [
        "location / { proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection \"\"; }",
        "proxy_http_version 1.1; proxy_set_header Connection \"\"; location / { proxy_pass http://app; }",
        "location /ws/ { proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Upgrade $http_upgrade; proxy_set_header Connection $connection_upgrade; }",
    ] {
        none(&lint_http(&site(ok)), "keepalive-without-http11");
    }
    // no keepalive in the group: nothing to defeat (before 1.29.7)
    none(
        &lint_http(
            "upstream a { server 127.0.0.1:1; } server { location / { proxy_pass http://a; } }",
        ),
        "keepalive-without-http11",
    );
}

#[test]
fn version_aware_defaults() {
    let text = http(&site("location / { proxy_pass http://app; }"));
    one(
        &lint_files(&text, &[], OLD, &HostFacts::default()),
        "keepalive-without-http11",
    );
    // unknown version: the old defaults, and the message says so
    let f = lint_files(&text, &[], None, &HostFacts::default());
    assert!(
        one(&f, "keepalive-without-http11")
            .explanation
            .contains("before 1.29.7")
    );
    // 1.29.7: HTTP/1.1 without Connection: close by default
    none(
        &lint_files(&text, &[], NEW, &HostFacts::default()),
        "keepalive-without-http11",
    );
    // ... but an explicit 1.0 still defeats the (default) keepalive of any upstream block
    let f = lint_files(
        &http(
            "upstream a { server 127.0.0.1:1; } server { location / { proxy_pass http://a; proxy_http_version 1.0; } }",
        ),
        &[],
        NEW,
        &HostFacts::default(),
    );
    assert!(
        one(&f, "keepalive-without-http11")
            .message
            .contains("keepalive 32")
    );
    let f = lint_files(
        &http(
            "upstream a { server 127.0.0.1:1; keepalive 0; } server { location / { proxy_pass http://a; proxy_http_version 1.0; } }",
        ),
        &[],
        NEW,
        &HostFacts::default(),
    );
    none(&f, "keepalive-without-http11");
}

#[test]
fn fastcgi_keepalive_needs_keep_conn() {
    let body = "upstream php { server unix:/run/php/php8.2-fpm.sock; keepalive 8; } server { location / { include snippets.conf; fastcgi_pass php; } }";
    let f = lint_http(body);
    one(&f, "keepalive-without-keep-conn");
    let f = lint_http(&body.replace(
        "fastcgi_pass php;",
        "fastcgi_pass php; fastcgi_keep_conn on;",
    ));
    none(&f, "keepalive-without-keep-conn");
}
