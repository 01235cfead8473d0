//! Lints against host facts: socket paths, listeners, open-file limits.
//! Unknown facts never produce a finding.

mod common;

use std::path::PathBuf;

use badgateway_lint::{HostFacts, PathKind, socket_paths};
use common::{OLD, http, lint_files, none, one};

const PHP: &str = "/run/php/php8.1-fpm.sock";

fn php_site(pass: &str) -> String {
    http(&format!(
        "server {{ listen 127.0.0.1:8080;\nlocation ~ \\.php$ {{ include fastcgi.conf; fastcgi_pass {pass}; }}\n}}"
    ))
}

fn lint(text: &str, facts: &HostFacts) -> Vec<badgateway_lint::Finding> {
    lint_files(
        text,
        &[(
            "fastcgi.conf",
            "fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;",
        )],
        OLD,
        facts,
    )
}

fn facts(paths: &[(&str, PathKind)]) -> HostFacts {
    let mut f = HostFacts::default();
    for (p, k) in paths {
        f.paths.insert(PathBuf::from(p), *k);
    }
    f
}

#[test]
fn socket_paths_lists_every_unix_address() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("nginx.conf");
    std::fs::write(
        &p,
        http("upstream u { server unix:/run/a.sock; server 127.0.0.1:1; }\nserver { location / { proxy_pass http://unix:/run/b.sock:/x/; } location /u { proxy_pass http://u; } location ~ \\.php$ { fastcgi_pass unix:/run/a.sock; } }"),
    )
    .unwrap();
    let m =
        badgateway_conf::Model::build(badgateway_conf::load(&p, &Default::default()).unwrap(), OLD);
    assert_eq!(
        socket_paths(&m),
        [PathBuf::from("/run/a.sock"), PathBuf::from("/run/b.sock")]
    );
}

#[test]
fn missing_socket_names_the_sockets_nearby() {
    let mut f = facts(&[(PHP, PathKind::Missing)]);
    f.nearby_sockets.insert(
        PathBuf::from("/run/php"),
        vec![PathBuf::from("/run/php/php8.2-fpm.sock")],
    );
    let out = lint(&php_site(&format!("unix:{PHP}")), &f);
    let hit = one(&out, "unix-socket-missing");
    assert_eq!(hit.line, 4);
    assert!(
        hit.message.contains("/run/php/php8.2-fpm.sock"),
        "{}",
        hit.message
    );
    assert!(
        hit.fix
            .starts_with("fastcgi_pass unix:/run/php/php8.2-fpm.sock;"),
        "{}",
        hit.fix
    );
    // present as a socket: fine; not looked at: nothing claimed
    none(
        &lint(
            &php_site(&format!("unix:{PHP}")),
            &facts(&[(PHP, PathKind::Socket)]),
        ),
        "unix-socket-missing",
    );
    none(
        &lint(&php_site(&format!("unix:{PHP}")), &HostFacts::default()),
        "unix-socket-missing",
    );
}

#[test]
fn not_a_socket_unreadable_and_stale() {
    let site = php_site(&format!("unix:{PHP}"));
    one(
        &lint(&site, &facts(&[(PHP, PathKind::File)])),
        "unix-socket-not-socket",
    );
    one(
        &lint(&site, &facts(&[(PHP, PathKind::Unreadable)])),
        "unix-socket-unchecked",
    );
    let mut f = facts(&[(PHP, PathKind::Socket)]);
    f.unix_listeners = Some(vec![PathBuf::from("/run/other.sock")]);
    one(&lint(&site, &f), "unix-socket-stale");
    f.unix_listeners = Some(vec![PathBuf::from(PHP)]);
    none(&lint(&site, &f), "unix-socket-stale");
}

#[test]
fn tcp_where_php_fpm_listens_on_a_socket() {
    let mut f = HostFacts {
        tcp_listeners: Some(vec!["0.0.0.0:80".parse().unwrap()]),
        unix_listeners: Some(vec![PathBuf::from("/run/php/php8.2-fpm.sock")]),
        ..HostFacts::default()
    };
    let out = lint(&php_site("127.0.0.1:9000"), &f);
    let hit = one(&out, "tcp-unix-mixup");
    assert_eq!(hit.fix, "fastcgi_pass unix:/run/php/php8.2-fpm.sock;");
    none(&out, "loopback-not-listening");
    // something listens on 9000: no mix-up
    f.tcp_listeners = Some(vec!["127.0.0.1:9000".parse().unwrap()]);
    none(&lint(&php_site("127.0.0.1:9000"), &f), "tcp-unix-mixup");
    // listeners unknown: nothing claimed
    none(
        &lint(&php_site("127.0.0.1:9000"), &HostFacts::default()),
        "tcp-unix-mixup",
    );
}

#[test]
fn unix_socket_where_php_fpm_listens_on_tcp() {
    let mut f = facts(&[(PHP, PathKind::Missing)]);
    f.tcp_listeners = Some(vec!["127.0.0.1:9000".parse().unwrap()]);
    let out = lint(&php_site(&format!("unix:{PHP}")), &f);
    assert_eq!(
        one(&out, "tcp-unix-mixup").fix,
        "fastcgi_pass 127.0.0.1:9000;"
    );
    none(&out, "unix-socket-missing");
}

#[test]
fn nothing_listening_on_a_loopback_backend() {
    let text = http(
        "server { location / { proxy_pass http://127.0.0.1:8000; } location /r { proxy_pass http://10.0.0.1:8000; } }",
    );
    let f = HostFacts {
        tcp_listeners: Some(vec![
            "0.0.0.0:80".parse().unwrap(),
            "127.0.0.1:3000".parse().unwrap(),
        ]),
        ..HostFacts::default()
    };
    let out = lint(&text, &f);
    let hit = one(&out, "loopback-not-listening");
    assert!(
        hit.message.contains("local ports listening: 80, 3000"),
        "{}",
        hit.message
    );
    let f = HostFacts {
        tcp_listeners: Some(vec!["[::]:8000".parse().unwrap()]),
        ..HostFacts::default()
    };
    none(&lint(&text, &f), "loopback-not-listening");
}

#[test]
fn localhost_backends() {
    let text = http(
        "upstream u { server localhost:3000; }\nserver { location / { proxy_pass http://localhost:8000; } location /u { proxy_pass http://u; } }",
    );
    let out = lint(&text, &HostFacts::default());
    let hits = common::with(&out, "localhost-upstream");
    assert_eq!(hits.len(), 2);
    assert!(
        hits[0].fix.starts_with("server 127.0.0.1:3000;"),
        "{}",
        hits[0].fix
    );
    assert!(
        hits[1].fix.starts_with("proxy_pass http://127.0.0.1:8000;"),
        "{}",
        hits[1].fix
    );
    let f = HostFacts {
        tcp_listeners: Some(vec![
            "127.0.0.1:8000".parse().unwrap(),
            "127.0.0.1:3000".parse().unwrap(),
        ]),
        ..HostFacts::default()
    };
    let out = lint(&text, &f);
    let hit = &common::with(&out, "localhost-upstream")[0];
    assert!(
        hit.message
            .contains("127.0.0.1 (listening) and ::1 (nothing listens)"),
        "{}",
        hit.message
    );
    none(
        &lint(
            &http("server { location / { proxy_pass http://127.0.0.1:8000; } }"),
            &HostFacts::default(),
        ),
        "localhost-upstream",
    );
}

#[test]
fn worker_connections_above_the_open_file_limit() {
    let text = "worker_rlimit_nofile 1024;\nevents { worker_connections 4096; }\nhttp { }\n";
    let out = lint(text, &HostFacts::default());
    let hit = one(&out, "worker-connections-over-nofile");
    assert_eq!(hit.line, 2);
    assert!(
        hit.fix.contains("worker_rlimit_nofile 8192;"),
        "{}",
        hit.fix
    );
    none(
        &lint(
            "worker_rlimit_nofile 65535;\nevents { worker_connections 4096; }\n",
            &HostFacts::default(),
        ),
        "worker-connections-over-nofile",
    );
    // without worker_rlimit_nofile: the process limit, when known
    let text = "events { worker_connections 4096; }\n";
    none(
        &lint(text, &HostFacts::default()),
        "worker-connections-over-nofile",
    );
    let f = HostFacts {
        nofile_limit: Some(1024),
        ..HostFacts::default()
    };
    one(&lint(text, &f), "worker-connections-over-nofile");
}
