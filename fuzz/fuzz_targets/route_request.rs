//! Fuzz the routing of outside input: the URL given on the command line
//! (parsing, nginx's URI normalisation, the whole route through a config
//! with rewrites, regexes, maps and try_files) and PCRE patterns from
//! configs (translation to regex-lite, matching). Nothing may panic.
#![no_main]

use std::io;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use badgateway_conf::{LoadOptions, Model, Source, load_from};
use badgateway_route::regex::Regex;
use badgateway_route::{Request, Url, route, uri};
use libfuzzer_sys::fuzz_target;

const CONF: &str = r#"
events {}
http {
    upstream grp { server 127.0.0.1:8000; server unix:/run/a.sock backup; }
    map $arg_v $m { default /d; ~^(?<x>[a-z]+)$ /m/$x; exact /e; }
    server {
        listen 127.0.0.1:80 default_server;
        server_name a.test *.b.test www.c.* ~^(?<sub>.+)\.d\.test$;
        rewrite ^/s/(.*)$ /p/$1 last;
        location / { try_files $uri $uri/ @app; }
        location @app { proxy_pass http://grp; }
        location /p/ { rewrite ^/p/(.*)$ /q/$1?z=$1 break; proxy_pass http://grp/x/; }
        location ~* \.(php|js)$ { if ($arg_a = b) { return 302 /x; } fastcgi_pass unix:/run/php.sock; }
        location ^~ /n/ { location ~ ^/n/(.+)$ { proxy_pass http://grp$m?$1; } }
        location = /e { return 200 "e"; }
        location /l/ { rewrite ^ /l/ last; }
        location /v/ { proxy_pass http://$host$request_uri; }
    }
    server { listen 80; server_name _; location / { proxy_pass http://127.0.0.1:9/; } }
}
"#;

struct Mem;

impl Source for Mem {
    fn read(&self, _path: &Path) -> io::Result<Vec<u8>> {
        Ok(CONF.as_bytes().to_vec())
    }
    fn glob(&self, _pattern: &Path) -> io::Result<Vec<PathBuf>> {
        Ok(Vec::new())
    }
}

fn model() -> &'static Model {
    static M: OnceLock<Model> = OnceLock::new();
    M.get_or_init(|| {
        let cfg = load_from(&Mem, Path::new("/fuzz/nginx.conf"), &LoadOptions::default())
            .expect("fuzz config parses");
        Model::build(cfg, None)
    })
}

fuzz_target!(|data: &[u8]| {
    let (first, rest) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let _ = uri::normalize(first, true);
    let _ = uri::normalize(first, false);
    if let Ok(re) = Regex::new(rest, rest.first().is_some_and(|b| b & 1 == 1)) {
        let _ = re.captures(first);
    }
    let text = String::from_utf8_lossy(first);
    if let Ok(url) = Url::parse(&text) {
        let mut req = Request::get(url);
        if !rest.is_empty() {
            req.headers
                .push(("Host".into(), String::from_utf8_lossy(rest).into_owned()));
        }
        let _ = route(model(), &req);
    }
});
