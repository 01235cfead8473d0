//! Lints about where `*_pass` sends requests and with which URI.

mod common;

use common::{lint_http, none, one, with};

fn srv(locations: &str) -> String {
    format!(
        "upstream b {{ server 127.0.0.1:8000; server 127.0.0.1:8001; }}\nserver {{ listen 127.0.0.1:8080;\n{locations}\n}}"
    )
}

#[test]
fn uri_slash_shows_how_a_sample_path_maps() {
    let f = lint_http(&srv("location /api { proxy_pass http://b/v1/; }"));
    let hit = one(&f, "proxy-pass-uri-slash");
    assert!(
        hit.message
            .contains("request /api/users is sent upstream as /v1//users"),
        "{}",
        hit.message
    );
    assert!(hit.fix.contains("location /api/ {"), "{}", hit.fix);
    assert_eq!(hit.line, 5);

    let f = lint_http(&srv("location /api/ { proxy_pass http://b/v1; }"));
    let hit = one(&f, "proxy-pass-uri-slash");
    assert!(
        hit.message
            .contains("/api/users is sent upstream as /v1users"),
        "{}",
        hit.message
    );
    assert!(hit.fix.contains("proxy_pass http://b/v1/;"), "{}", hit.fix);
    assert!(hit.fix.contains("/api/users → /v1/users"), "{}", hit.fix);
}

#[test]
fn matching_slashes_and_uri_less_passes_are_fine() {
    for loc in [
        "location /api/ { proxy_pass http://b/v1/; }",
        "location /api { proxy_pass http://b/v1; }",
        "location /api { proxy_pass http://b; }",
        "location = /api { proxy_pass http://b/v1/; }",
        "location /api { rewrite ^/api(.*)$ $1 break; proxy_pass http://b/; }",
    ] {
        none(&lint_http(&srv(loc)), "proxy-pass-uri-slash");
    }
}

#[test]
fn variables_with_a_fixed_uri_send_the_same_uri_every_time() {
    let f = lint_http(&srv(
        "resolver 127.0.0.53; location /app/ { proxy_pass http://$http_x_backend/; }",
    ));
    let hit = one(&f, "proxy-pass-variable-uri");
    assert!(
        hit.message.contains("sends exactly \"/\""),
        "{}",
        hit.message
    );
    none(
        &lint_http(&srv(
            "resolver 127.0.0.53; location /app/ { proxy_pass http://$http_x_backend$request_uri; }",
        )),
        "proxy-pass-variable-uri",
    );
    none(
        &lint_http(&srv(
            "resolver 127.0.0.53; location = /app { proxy_pass http://$http_x_backend/app; }",
        )),
        "proxy-pass-variable-uri",
    );
}

#[test]
fn typo_of_an_upstream_name_is_critical_with_a_suggestion() {
    let f = lint_http(&srv("location / { proxy_pass http://bb; }"));
    let hit = one(&f, "upstream-name-typo");
    assert!(
        hit.message.contains("did you mean \"b\""),
        "{}",
        hit.message
    );
    assert_eq!(hit.fix, "proxy_pass http://b;");
    let f = lint_http(
        "upstream app_backend { server 127.0.0.1:1; } server { location / { fastcgi_pass app_backnd; } }",
    );
    assert_eq!(
        one(&f, "upstream-name-typo").fix,
        "fastcgi_pass app_backend;"
    );
}

#[test]
fn single_label_names_without_upstream_are_warned_about() {
    let f = lint_http(&srv("location / { proxy_pass http://frontend:3000; }"));
    let hit = one(&f, "upstream-undefined");
    assert!(
        hit.message.contains("upstream blocks: b"),
        "{}",
        hit.message
    );
    none(&f, "upstream-name-typo");
    for ok in [
        "location / { proxy_pass http://b; }",
        "location / { proxy_pass http://B; }",
        "location / { proxy_pass http://app.internal:3000; }",
        "location / { proxy_pass http://10.0.0.1:3000; }",
        "location / { proxy_pass http://[::1]:3000; }",
        "location / { proxy_pass http://unix:/run/app.sock; }",
    ] {
        let f = lint_http(&srv(ok));
        none(&f, "upstream-undefined");
        none(&f, "upstream-name-typo");
    }
}

#[test]
fn variables_without_resolver() {
    // static host name + variables in the URI: every request fails
    let f = lint_http(&srv(
        "location / { proxy_pass http://api.example.com$request_uri; }",
    ));
    let hit = one(&f, "hostname-pass-without-resolver");
    assert!(
        hit.message.contains("\"api.example.com\""),
        "{}",
        hit.message
    );
    // host from a variable set to a name
    let f = lint_http(&srv(
        "location / { set $up \"api.example.com:8080\"; proxy_pass http://$up; }",
    ));
    assert!(
        one(&f, "hostname-pass-without-resolver")
            .message
            .contains("set at nginx.conf:5")
    );
    // host from a request variable: unknown
    let f = lint_http(&srv("location / { proxy_pass http://$http_host; }"));
    assert!(
        one(&f, "variable-pass-without-resolver")
            .message
            .contains("$http_host")
    );
    // fine: IPs, upstream names, a resolver, an implicit upstream of the same name
    for ok in [
        "location / { set $up \"10.0.0.1:9090\"; proxy_pass http://$up; }",
        "location / { set $up b; proxy_pass http://$up; }",
        "location / { proxy_pass http://b$request_uri; }",
        "location / { resolver 127.0.0.53; proxy_pass http://$http_host; }",
        "location / { proxy_pass http://app.internal:80$request_uri; } location /s { proxy_pass http://app.internal:80; }",
        "location / { proxy_pass http://b$route; }",
        "location / { proxy_pass http://unix:/run/app.sock:$request_uri; }",
    ] {
        let f = lint_http(&srv(ok));
        none(&f, "variable-pass-without-resolver");
        none(&f, "hostname-pass-without-resolver");
    }
    let f = lint_http(&format!(
        "map $host $pool {{ default 10.0.0.1:80; a.example 10.0.0.2:80; }}\n{}",
        srv("location / { proxy_pass http://$pool; }")
    ));
    none(&f, "variable-pass-without-resolver");
}

#[test]
fn tls_to_named_backends_without_sni() {
    let f = lint_http(&srv("location / { proxy_pass https://api.example.com; }"));
    let hit = one(&f, "ssl-without-sni");
    assert_eq!(hit.fix, "proxy_ssl_server_name on;");
    let f = lint_http(&srv("location / { proxy_pass https://b; }"));
    assert!(one(&f, "ssl-without-sni").fix.contains("proxy_ssl_name"));
    for ok in [
        "location / { proxy_pass https://10.0.0.1; }",
        "location / { proxy_pass https://b; proxy_ssl_server_name on; proxy_ssl_name api.internal; }",
        "proxy_ssl_server_name on; location / { proxy_pass https://api.example.com; }",
        "location / { proxy_pass http://api.example.com; }",
    ] {
        none(&lint_http(&srv(ok)), "ssl-without-sni");
    }
    let f = lint_http(&srv(
        "location / { grpc_pass grpcs://api.example.com:443; }",
    ));
    assert_eq!(one(&f, "ssl-without-sni").fix, "grpc_ssl_server_name on;");
}

#[test]
fn certificate_checked_against_the_group_name() {
    let f = lint_http(&srv(
        "location / { proxy_pass https://b; proxy_ssl_server_name on; proxy_ssl_verify on; proxy_ssl_trusted_certificate /etc/ssl/ca.pem; }",
    ));
    one(&f, "ssl-verify-group-name");
    none(
        &lint_http(&srv(
            "location / { proxy_pass https://b; proxy_ssl_server_name on; proxy_ssl_name api.internal; proxy_ssl_verify on; }",
        )),
        "ssl-verify-group-name",
    );
}

#[test]
fn host_names_are_resolved_once() {
    let f = lint_http(&format!(
        "upstream n {{ server app.internal:8080; }}\n{}",
        srv(
            "location / { proxy_pass http://api.example.com; } location /n { proxy_pass http://n; }"
        )
    ));
    assert_eq!(with(&f, "hostname-resolved-once").len(), 2);
    none(
        &lint_http(&srv("location / { proxy_pass http://127.0.0.1:1; }")),
        "hostname-resolved-once",
    );
}

#[test]
fn fastcgi_needs_script_filename_in_the_effective_list() {
    let f =
        lint_http("server { location ~ \\.php$ { fastcgi_pass unix:/run/php/php8.2-fpm.sock; } }");
    assert!(
        one(&f, "fastcgi-missing-params")
            .message
            .contains("no fastcgi_param")
    );
    // set at server level, then replaced by the location's own fastcgi_param
    let f = lint_http(
        "server {\nfastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;\nlocation ~ \\.php$ {\nfastcgi_param PATH_INFO $fastcgi_path_info;\nfastcgi_pass 127.0.0.1:9000; } }",
    );
    let hit = one(&f, "fastcgi-missing-params");
    assert!(
        hit.message.contains("SCRIPT_FILENAME set at nginx.conf:4"),
        "{}",
        hit.message
    );
    assert!(
        hit.message.contains("nginx.conf:6 replaces"),
        "{}",
        hit.message
    );
    for ok in [
        "server { location ~ \\.php$ { fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name; fastcgi_param PATH_INFO $fastcgi_path_info; fastcgi_pass 127.0.0.1:9000; } }",
        "fastcgi_param SCRIPT_FILENAME $request_filename; server { location ~ \\.php$ { fastcgi_pass 127.0.0.1:9000; } }",
    ] {
        none(&lint_http(ok), "fastcgi-missing-params");
    }
}
