//! `badgateway route` as a command: the JSON contract, what the text and
//! markdown say, exit statuses, and clear errors for bad input.

use serde_json::Value;

use crate::util::{badgateway, stderr, stdout};

const SITE: &str = r#"
events {}
http {
    upstream backend { server 127.0.0.1:8000; server 127.0.0.1:8001 backup; server 10.0.0.9 down; }
    server {
        listen 127.0.0.1:8080 default_server;
        server_name example.com;
        location / { root /srv/www; }
        location ^~ /app/ { proxy_pass http://backend/; }
        location /api { proxy_pass http://127.0.0.1:9000/v1/; }
        location ~ \.php$ {
            fastcgi_pass unix:/run/php/php8.2-fpm.sock;
            fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
            fastcgi_param REQUEST_URI $request_uri;
        }
        location /geo/ { proxy_pass http://backend/$remote_addr; }
    }
}
"#;

fn site() -> (tempfile::TempDir, String) {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("nginx.conf");
    std::fs::write(&p, SITE).unwrap();
    let s = p.to_string_lossy().into_owned();
    (d, s)
}

fn json(url: &str, conf: &str) -> Value {
    let o = badgateway(&["route", url, "--config", conf, "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    serde_json::from_str(&stdout(&o)).unwrap()
}

#[test]
fn json_contract() {
    let (_d, conf) = site();
    let j = json("http://127.0.0.1:8080/app/page.html?x=1", &conf);
    assert_eq!(j["version"], 1);
    assert_eq!(j["server"]["file"], "nginx.conf");
    assert_eq!(j["server"]["line"], 5);
    assert_eq!(j["server"]["server_name"], "example.com");
    assert_eq!(j["location"]["file"], "nginx.conf");
    assert_eq!(j["location"]["line"], 9);
    assert_eq!(j["location"]["modifier"], "^~");
    assert_eq!(j["location"]["path"], "/app/");
    let p = &j["pass"];
    assert_eq!(p["directive"], "proxy_pass");
    assert_eq!(p["target"], "http://backend/");
    assert_eq!(p["upstream"], "backend");
    assert_eq!(
        p["servers"],
        serde_json::json!(["127.0.0.1:8000", "127.0.0.1:8001", "10.0.0.9:80"])
    );
    assert_eq!(p["peers"][1]["backup"], true);
    assert_eq!(p["peers"][2]["down"], true);
    assert_eq!(p["upstream_uri"], "/page.html?x=1");
    assert!(j["status"].is_null());

    // nginx answers itself: static file, and the automatic redirect
    let j = json("http://127.0.0.1:8080/index.html", &conf);
    assert!(j["pass"].is_null());
    assert_eq!(j["status"], 200);
    assert_eq!(j["alternatives"][0]["status"], 404);
    let j = json("http://127.0.0.1:8080/app?a=b", &conf);
    assert!(j["pass"].is_null());
    assert_eq!(
        (j["status"].as_u64(), j["redirect"].as_str()),
        (Some(301), Some("/app/?a=b"))
    );

    // FastCGI: the parameters the backend receives
    let j = json("http://127.0.0.1:8080/x/index.php?q", &conf);
    assert_eq!(j["pass"]["servers"][0], "unix:/run/php/php8.2-fpm.sock");
    assert!(j["pass"]["upstream_uri"].is_null());
    let params = j["pass"]["params"].to_string();
    assert!(params.contains("/x/index.php?q"), "{params}");

    // what depends on the client is uncertain, not guessed
    let j = json("http://127.0.0.1:8080/geo/", &conf);
    assert!(j["pass"]["upstream_uri"].is_null());
    assert!(j["uncertain"].to_string().contains("remote_addr"), "{j}");
}

#[test]
fn text_and_markdown_explain_the_choice() {
    let (_d, conf) = site();
    let o = badgateway(&["route", "http://127.0.0.1:8080/api/x", "--config", &conf]);
    assert_eq!(o.status.code(), Some(0));
    let out = stdout(&o);
    assert!(
        out.contains("nginx.conf:5 server_name example.com"),
        "{out}"
    );
    assert!(
        out.contains("longest prefix /api (regexes checked: ~ \\.php$; none matched)"),
        "{out}"
    );
    assert!(out.contains("request line: GET /v1//x HTTP/1.0"), "{out}");
    assert!(out.contains("trailing slash mismatch"), "{out}");
    let o = badgateway(&[
        "route",
        "http://127.0.0.1:8080/app/x",
        "--config",
        &conf,
        "--format",
        "markdown",
    ]);
    let md = stdout(&o);
    assert!(
        md.starts_with("## Route of `GET http://127.0.0.1:8080/app/x`"),
        "{md}"
    );
    assert!(md.contains("127.0.0.1:8001 (backup)"), "{md}");
}

#[test]
fn hostile_host_header_is_neutralised() {
    let (_d, conf) = site();
    let o = badgateway(&[
        "route",
        "http://127.0.0.1:8080/",
        "--header",
        "Host: evil\x1b]0;x\x07.test",
        "--config",
        &conf,
    ]);
    assert_eq!(o.status.code(), Some(0));
    let out = stdout(&o);
    assert!(!out.contains('\x1b') && !out.contains('\x07'), "{out:?}");
    assert!(out.contains("\\x1b"), "{out}");
}

#[test]
fn exit_statuses_and_errors() {
    let (d, conf) = site();
    let o = badgateway(&["route", "http://127.0.0.1:9/", "--config", &conf]);
    assert_eq!(o.status.code(), Some(1), "nothing listens on port 9");
    assert!(stdout(&o).contains("no server listens on 127.0.0.1:9"));

    let o = badgateway(&["route", "example.com/x", "--config", &conf]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("expected a URL starting with http:// or https://"));

    let o = badgateway(&[
        "route",
        "http://h/x",
        "--header",
        "nocolon",
        "--config",
        &conf,
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("expected \"Name: value\""));

    let bad = d.path().join("bad.conf");
    std::fs::write(&bad, "events {}\nhttp {\n  server { listen 80 }\n}\n").unwrap();
    let o = badgateway(&["route", "http://h/", "--config", &bad.to_string_lossy()]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("bad.conf:3:"), "{err}");
    assert!(!err.contains("panicked"), "{err}");

    let o = badgateway(&["route", "http://h/", "--config", "/nonexistent/nginx.conf"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("/nonexistent/nginx.conf"));

    let o = badgateway(&["route", "--help"]);
    assert!(stdout(&o).contains("/etc/nginx/nginx.conf"));
}
