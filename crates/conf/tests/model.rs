//! The semantic model: what nginx will do with a config.

use badgateway_conf::model::{Address, Modifier, PassModule, PassTarget, Protocol};
use badgateway_conf::{LoadOptions, Model, NginxVersion, load};

fn model(text: &str) -> Model {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("nginx.conf");
    std::fs::write(&p, text).unwrap();
    let cfg = load(&p, &LoadOptions::default()).unwrap();
    Model::build(cfg, Some(NginxVersion(1, 22, 1)))
}

const SITE: &str = r#"
user www-data;
worker_processes auto;
worker_rlimit_nofile 1024;
events { worker_connections 4096; }
http {
    proxy_read_timeout 30s;
    proxy_set_header Host $host;
    proxy_set_header X-Real-IP $remote_addr;
    log_format main '$remote_addr [$time_local] "$request" '
                    '$status us=$upstream_status';
    access_log /var/log/nginx/access.log main;
    error_log /var/log/nginx/error.log warn;
    upstream Backend {
        server 127.0.0.1:8000 weight=3 max_fails=2 fail_timeout=5s;
        server unix:/run/app.sock backup;
        server 10.0.0.2 down;
        keepalive 16;
    }
    server {
        listen 127.0.0.1:8080 default_server;
        listen [::1]:8080;
        server_name example.com *.example.com;
        location / {
            proxy_pass http://backend;
        }
        location /api/ {
            proxy_set_header X-Api 1;
            proxy_read_timeout 5s;
            proxy_pass http://127.0.0.1:9000/v1/;
            location /api/admin/ {
                proxy_pass https://admin.internal;
            }
        }
        location ~* \.php$ {
            fastcgi_pass unix:/run/php/php8.2-fpm.sock;
        }
        location = /dyn {
            proxy_pass http://$arg_h$request_uri;
        }
        location /grp {
            proxy_pass http://backend$request_uri;
        }
        location @fallback {
            grpc_pass grpcs://10.0.0.9:50051;
        }
        location /bad { proxy_pass backend; }
        location /if {
            if ($request_method = POST) { proxy_pass http://127.0.0.1:7000; }
        }
    }
    server { server_name other; }
}
"#;

#[test]
fn main_and_events() {
    let m = model(SITE);
    assert_eq!(m.main.user, Some(("www-data".into(), None)));
    assert_eq!(m.main.worker_processes.as_deref(), Some("auto"));
    assert_eq!(m.main.worker_rlimit_nofile, Some(1024));
    assert_eq!(m.main.worker_connections, Some(4096));
}

#[test]
fn servers_listens_and_locations() {
    let m = model(SITE);
    let h = m.http.as_ref().unwrap();
    assert_eq!(h.servers.len(), 2);
    let s = &h.servers[0];
    assert_eq!(s.names, ["example.com", "*.example.com"]);
    assert_eq!(s.listens.len(), 2);
    assert!(s.listens[0].default_server);
    assert_eq!(
        s.listens[1].address,
        Address::Tcp {
            host: "::1".into(),
            port: Some(8080)
        }
    );
    // the second server has nginx's implicit listen and empty name
    assert_eq!(h.servers[1].listens[0].port(), Some(80));
    assert_eq!(h.servers[1].names, ["other"]);
    let locs: Vec<(Modifier, &str)> = s
        .all_locations()
        .iter()
        .map(|l| (l.modifier, l.path.as_str()))
        .collect();
    assert_eq!(
        locs,
        [
            (Modifier::Prefix, "/"),
            (Modifier::Prefix, "/api/"),
            (Modifier::Prefix, "/api/admin/"),
            (Modifier::RegexCaseless, "\\.php$"),
            (Modifier::Exact, "/dyn"),
            (Modifier::Prefix, "/grp"),
            (Modifier::Named, "fallback"),
            (Modifier::Prefix, "/bad"),
            (Modifier::Prefix, "/if"),
        ]
    );
}

#[test]
fn passes_resolve_to_groups_addresses_and_variables() {
    let m = model(SITE);
    let s = &m.http.as_ref().unwrap().servers[0];
    let all = s.all_locations();
    let pass = |i: usize| all[i].pass.as_ref().unwrap();
    // upstream names match case-insensitively
    assert!(
        matches!(&pass(0).target, PassTarget::Group { name, port: None, .. } if name == "Backend")
    );
    assert_eq!(pass(1).uri.as_deref(), Some("/v1/"));
    assert_eq!(
        pass(1).target,
        PassTarget::Address {
            address: Address::Tcp {
                host: "127.0.0.1".into(),
                port: Some(9000)
            }
        }
    );
    assert_eq!(pass(2).protocol, Protocol::Https);
    assert_eq!(pass(3).module, PassModule::Fastcgi);
    assert_eq!(
        pass(3).target,
        PassTarget::Address {
            address: Address::Unix {
                path: "/run/php/php8.2-fpm.sock".into()
            }
        }
    );
    assert_eq!(pass(4).target, PassTarget::Dynamic { host: None });
    // variables only in the URI: the host still names the upstream group
    assert!(matches!(&pass(5).target, PassTarget::Group { name, .. } if name == "Backend"));
    assert_eq!(pass(6).protocol, Protocol::Grpcs);
    assert!(
        matches!(&pass(7).target, PassTarget::Invalid { reason } if reason.contains("invalid URL prefix"))
    );
    assert!(all[8].pass.is_none());
    assert!(all[8].ifs[0].pass.is_some());
    assert_eq!(all[8].ifs[0].condition, ["$request_method", "=", "POST"]);
    assert_eq!(m.passes().len(), 9);
}

#[test]
fn upstream_servers_and_keepalive() {
    let m = model(SITE);
    let u = &m.http.as_ref().unwrap().upstreams[0];
    assert_eq!(u.keepalive, Some(16));
    assert_eq!(u.servers.len(), 3);
    assert_eq!((u.servers[0].weight, u.servers[0].max_fails), (3, 2));
    assert_eq!(u.servers[0].fail_timeout.as_secs(), 5);
    assert!(u.servers[1].backup && u.servers[2].down);
    assert_eq!(
        u.servers[2].address.as_ref().unwrap().display(80),
        "10.0.0.2:80"
    );
    assert_eq!(u.primaries().count(), 2);
}

#[test]
fn effective_values_follow_nginx_inheritance() {
    let m = model(SITE);
    let s = &m.http.as_ref().unwrap().servers[0];
    let all = s.all_locations();
    let (root, api, admin) = (all[0].node, all[1].node, all[2].node);
    // scalar: inherited from http, overridden in /api/, inherited by the nested location
    assert_eq!(
        m.value(root, "proxy_read_timeout").0.as_deref(),
        Some("30s")
    );
    assert_eq!(m.value(api, "proxy_read_timeout").0.as_deref(), Some("5s"));
    assert_eq!(
        m.value(admin, "proxy_read_timeout").0.as_deref(),
        Some("5s")
    );
    // default when set nowhere, version-aware
    let (v, span) = m.value(root, "proxy_http_version");
    assert_eq!((v.as_deref(), span), (Some("1.0"), None));
    // arrays: one proxy_set_header in /api/ replaces BOTH inherited ones
    let hdr = |at| m.effective(at, "proxy_set_header").unwrap().nodes.len();
    assert_eq!(hdr(root), 2);
    assert_eq!(hdr(api), 1);
    assert_eq!(hdr(admin), 1);
    let e = m.effective(api, "proxy_set_header").unwrap();
    assert_eq!(e.args(), ["X-Api", "1"]);
}

#[test]
fn logs_and_formats() {
    let m = model(SITE);
    let f = m.log_formats();
    assert_eq!(f[0].name, "main");
    assert_eq!(
        f[0].format,
        "$remote_addr [$time_local] \"$request\" $status us=$upstream_status"
    );
    let a = m.access_logs();
    assert_eq!(
        (a[0].target.as_str(), a[0].format.as_str()),
        ("/var/log/nginx/access.log", "main")
    );
    let e = m.error_logs();
    assert_eq!(
        (e[0].target.as_str(), e[0].level.as_str()),
        ("/var/log/nginx/error.log", "warn")
    );
}

#[test]
fn modern_nginx_defaults_to_http11() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("nginx.conf");
    std::fs::write(
        &p,
        "http { server { location / { proxy_pass http://a; } } }",
    )
    .unwrap();
    let m = Model::build(
        load(&p, &LoadOptions::default()).unwrap(),
        Some(NginxVersion(1, 30, 0)),
    );
    let loc = m.http.as_ref().unwrap().servers[0].locations[0].node;
    assert_eq!(m.value(loc, "proxy_http_version").0.as_deref(), Some("1.1"));
}
