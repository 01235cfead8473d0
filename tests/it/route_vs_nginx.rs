//! `badgateway route` against the real nginx: a private nginx with several
//! servers on one port (exact, wildcard, regex names, default_server, a
//! `*:port` socket next to `127.0.0.1:port`) and many locations (trailing
//! slash on either side, no URI part, `=`, `^~`, regexes with captures and
//! variables, nested, `rewrite … break|last|permanent`, `return`,
//! `try_files` to a named location and to a URI, unix sockets) proxies to a
//! recording backend. For every URL, what nginx actually sent upstream (or
//! answered itself) must equal what `route` predicts, down to the server
//! and location `file:line`.

use std::net::SocketAddr;
use std::time::Duration;

use badgateway_lab::{NginxBuilder, http, require_nginx};
use serde_json::Value;

use crate::route_backend::{Backend, seen};
use crate::util::{badgateway, stderr, stdout};

/// Every location sets the same tag as a request header for the backend
/// and as a response header, and is written on one line, so the tag finds
/// its line. Every server block's first line carries `# srv=NAME`.
fn config(tcp: &str, unix: &str) -> String {
    format!(
        r#"
upstream grp {{ server {tcp}; }}

server {{ listen 127.0.0.1:@LISTEN@ default_server; server_name default.test; # srv=def
  location / {{ proxy_set_header X-Loc def-root; add_header X-Loc def-root always; proxy_pass http://grp; }}
}}
server {{ listen 127.0.0.1:@LISTEN@; server_name app.test; # srv=app
  location / {{ proxy_set_header X-Loc root; add_header X-Loc root always; proxy_pass http://grp; }}
  location /noslash {{ proxy_set_header X-Loc noslash; add_header X-Loc noslash always; proxy_pass http://grp/target/; }}
  location /slash/ {{ proxy_set_header X-Loc slash; add_header X-Loc slash always; proxy_pass http://grp/t; }}
  location /both/ {{ proxy_set_header X-Loc both; add_header X-Loc both always; proxy_pass http://grp/b/; }}
  location /nouri/ {{ proxy_set_header X-Loc nouri; add_header X-Loc nouri always; proxy_pass http://grp; }}
  location = /exact {{ proxy_set_header X-Loc exact; add_header X-Loc exact always; proxy_pass http://grp/exact-target; }}
  location ^~ /static/ {{ proxy_set_header X-Loc static; add_header X-Loc static always; proxy_pass http://grp/st/; }}
  location ~ \.php$ {{ proxy_set_header X-Loc php; add_header X-Loc php always; proxy_pass http://grp; }}
  location ~* "^/img/(?<name>[a-z]+)\.(png|jpg)$" {{ proxy_set_header X-Loc img; add_header X-Loc img always; proxy_pass http://grp/images/$name.$2?w=1; }}
  location /nest/ {{ proxy_set_header X-Loc nest; add_header X-Loc nest always; proxy_pass http://grp/n/;
    location /nest/deep/ {{ proxy_set_header X-Loc nest-deep; add_header X-Loc nest-deep always; proxy_pass http://grp/d/; }}
    location ~ \.json$ {{ proxy_set_header X-Loc nest-json; add_header X-Loc nest-json always; proxy_pass http://grp; }}
  }}
  location /rw/ {{ proxy_set_header X-Loc rw; add_header X-Loc rw always; rewrite ^/rw/(.*)$ /back/$1 break; proxy_pass http://grp/ignored/; }}
  location /rwnouri/ {{ proxy_set_header X-Loc rwnouri; add_header X-Loc rwnouri always; rewrite ^/rwnouri/(.*)$ /b2/$1?extra=1 break; proxy_pass http://grp; }}
  location /rwlast/ {{ proxy_set_header X-Loc rwlast; add_header X-Loc rwlast always; rewrite ^/rwlast/(.*)$ /both/$1 last; }}
  location /rwargs/ {{ add_header X-Loc rwargs always; rewrite ^/rwargs/(.*)$ /both/x?a=$1 last; }}
  location /rwdrop/ {{ add_header X-Loc rwdrop always; rewrite ^/rwdrop/(.*)$ /both/$1? last; }}
  location /ret {{ add_header X-Loc ret always; return 418; }}
  location /unix/ {{ proxy_set_header X-Loc unix; add_header X-Loc unix always; proxy_pass http://{unix}:/u/; }}
  location /unixnouri/ {{ proxy_set_header X-Loc unixnouri; add_header X-Loc unixnouri always; proxy_pass http://{unix}; }}
  location /setv/ {{ set $tail "s"; proxy_set_header X-Loc setv; add_header X-Loc setv always; proxy_pass http://grp/v/$tail$is_args$args; }}
  location /reqv/ {{ proxy_set_header X-Loc reqv; add_header X-Loc reqv always; proxy_pass http://grp$request_uri; }}
  location /argv/ {{ proxy_set_header X-Loc argv; add_header X-Loc argv always; proxy_pass http://grp/a/$arg_id; }}
  location /perm/ {{ add_header X-Loc perm always; rewrite ^/perm/(.*)$ /both/$1 permanent; }}
  location /tf/ {{ proxy_set_header X-Loc tf; add_header X-Loc tf always; try_files /no-such-file @fallback; }}
  location @fallback {{ proxy_set_header X-Loc fallback; add_header X-Loc fallback always; proxy_pass http://grp; }}
  location /tfuri/ {{ add_header X-Loc tfuri always; try_files /no-such-file /both/from-tf?q=1; }}
  location /ifq/ {{ proxy_set_header X-Loc ifq; add_header X-Loc ifq always; if ($arg_go = yes) {{ rewrite ^ /both/went break; }} proxy_pass http://grp/ifq-target/; }}
  location /internal/ {{ add_header X-Loc internal always; internal; proxy_pass http://grp; }}
}}
server {{ listen 127.0.0.1:@LISTEN@; server_name *.wild.test; # srv=wild
  location / {{ proxy_set_header X-Loc wild-root; add_header X-Loc wild-root always; proxy_pass http://grp/w/; }}
}}
server {{ listen 127.0.0.1:@LISTEN@; server_name .dot.test www.tail.*; # srv=dot
  location / {{ proxy_set_header X-Loc dot-root; add_header X-Loc dot-root always; proxy_pass http://grp/d/; }}
}}
server {{ listen 127.0.0.1:@LISTEN@; server_name ~^(?<sub>[a-z]+)\.re\.test$; # srv=re
  location / {{ proxy_set_header X-Loc re-root; add_header X-Loc re-root always; proxy_pass http://grp/$sub$uri; }}
}}
server {{ listen 127.0.0.1:@LISTEN@; server_name srvrw.test; # srv=srvrw
  rewrite ^/s/(.*)$ /p/$1 break;
  rewrite ^/l/(.*)$ /p/$1 last;
  location /p/ {{ proxy_set_header X-Loc srvrw-p; add_header X-Loc srvrw-p always; proxy_pass http://grp/q/; }}
  location / {{ proxy_set_header X-Loc srvrw-root; add_header X-Loc srvrw-root always; proxy_pass http://grp; }}
}}
server {{ listen 127.0.0.1:@LISTEN@; server_name merge.test; merge_slashes off; # srv=merge
  location / {{ proxy_set_header X-Loc merge-root; add_header X-Loc merge-root always; proxy_pass http://grp/m/; }}
}}
server {{ listen @LISTEN@; server_name app.test wildaddr.test; # srv=anyaddr
  location / {{ proxy_set_header X-Loc anyaddr-root; add_header X-Loc anyaddr-root always; proxy_pass http://grp; }}
}}
"#
    )
}

/// (address to connect to, Host header, request target).
const CASES: &[(&str, &str, &str)] = &[
    ("127.0.0.1", "app.test", "/"),
    ("127.0.0.1", "app.test", "/index.html"),
    ("127.0.0.1", "app.test", "/a/b?x=1&y=2"),
    ("127.0.0.1", "app.test", "/a//b"),
    ("127.0.0.1", "app.test", "/a/./b/../c"),
    ("127.0.0.1", "app.test", "/a/%2e%2e/c"),
    ("127.0.0.1", "app.test", "/a%20b"),
    ("127.0.0.1", "app.test", "/%7Euser?q=%41"),
    ("127.0.0.1", "app.test", "/noslash"),
    ("127.0.0.1", "app.test", "/noslash/x"),
    ("127.0.0.1", "app.test", "/noslashfoo"),
    ("127.0.0.1", "app.test", "/noslash?x=1"),
    ("127.0.0.1", "app.test", "/slash/"),
    ("127.0.0.1", "app.test", "/slash/x"),
    ("127.0.0.1", "app.test", "/slash"),
    ("127.0.0.1", "app.test", "/slash?k=v"),
    ("127.0.0.1", "app.test", "/both/"),
    ("127.0.0.1", "app.test", "/both/x/y?z=1"),
    ("127.0.0.1", "app.test", "/both"),
    ("127.0.0.1", "app.test", "/both/a%2Fb"),
    ("127.0.0.1", "app.test", "/both/a%20b%22c"),
    ("127.0.0.1", "app.test", "/both/./x"),
    ("127.0.0.1", "app.test", "/both//x"),
    ("127.0.0.1", "app.test", "/both/caf%C3%A9"),
    ("127.0.0.1", "app.test", "/nouri/a%2Fb?c=%20"),
    ("127.0.0.1", "app.test", "/nouri/./x"),
    ("127.0.0.1", "app.test", "/nouri//x"),
    ("127.0.0.1", "app.test", "/exact"),
    ("127.0.0.1", "app.test", "/exact/"),
    ("127.0.0.1", "app.test", "/exact?x=1"),
    ("127.0.0.1", "app.test", "/static/a.php"),
    ("127.0.0.1", "app.test", "/static/x"),
    ("127.0.0.1", "app.test", "/staticx"),
    ("127.0.0.1", "app.test", "/x.php"),
    ("127.0.0.1", "app.test", "/x.PHP"),
    ("127.0.0.1", "app.test", "/a/b.php?x=1"),
    ("127.0.0.1", "app.test", "/img/cat.png"),
    ("127.0.0.1", "app.test", "/IMG/Dog.JPG?x=1"),
    ("127.0.0.1", "app.test", "/img/cat.gif"),
    ("127.0.0.1", "app.test", "/nest/"),
    ("127.0.0.1", "app.test", "/nest/x"),
    ("127.0.0.1", "app.test", "/nest"),
    ("127.0.0.1", "app.test", "/nest/deep/y"),
    ("127.0.0.1", "app.test", "/nest/a.json"),
    ("127.0.0.1", "app.test", "/nest/deep/a.json"),
    ("127.0.0.1", "app.test", "/a.json"),
    ("127.0.0.1", "app.test", "/rw/x"),
    ("127.0.0.1", "app.test", "/rw/a%20b?q=1"),
    ("127.0.0.1", "app.test", "/rw/"),
    ("127.0.0.1", "app.test", "/rwnouri/z?o=1"),
    ("127.0.0.1", "app.test", "/rwnouri/sp%20ace"),
    ("127.0.0.1", "app.test", "/rwlast/x?y=1"),
    ("127.0.0.1", "app.test", "/rwargs/v?o=1"),
    ("127.0.0.1", "app.test", "/rwargs/a%26b?o=1"),
    ("127.0.0.1", "app.test", "/rwdrop/v?o=1"),
    ("127.0.0.1", "app.test", "/ret"),
    ("127.0.0.1", "app.test", "/retx/y"),
    ("127.0.0.1", "app.test", "/unix/a?b"),
    ("127.0.0.1", "app.test", "/unix/"),
    ("127.0.0.1", "app.test", "/unix"),
    ("127.0.0.1", "app.test", "/unixnouri/k%41?x"),
    ("127.0.0.1", "app.test", "/setv/x?a=1"),
    ("127.0.0.1", "app.test", "/setv/y"),
    ("127.0.0.1", "app.test", "/reqv/a%20b?c"),
    ("127.0.0.1", "app.test", "/argv/?id=42&x=1"),
    ("127.0.0.1", "app.test", "/perm/x?y"),
    ("127.0.0.1", "app.test", "/tf/anything?k=1"),
    ("127.0.0.1", "app.test", "/tfuri/z?o=2"),
    ("127.0.0.1", "app.test", "/ifq/p?go=yes"),
    ("127.0.0.1", "app.test", "/ifq/p?go=no"),
    ("127.0.0.1", "app.test", "/internal/x"),
    ("127.0.0.1", "app.test", "/a/%zz"),
    ("127.0.0.1", "app.test", "/../x"),
    ("127.0.0.1", "app.test", "/a/%2e%2e/%2e%2e/x"),
    ("127.0.0.1", "app.test", "/a%00b"),
    ("127.0.0.1", "app.test", "/q%3Fx?y=%3F"),
    ("127.0.0.1", "app.test", "/h%23x"),
    ("127.0.0.1", "APP.Test.", "/case"),
    ("127.0.0.1", "app.test:8080", "/port"),
    ("127.0.0.1", "unknown.test", "/x?y"),
    ("127.0.0.1", "default.test", "/d"),
    ("127.0.0.1", "a.wild.test", "/p"),
    ("127.0.0.1", "x.y.wild.test", "/p/q?r"),
    ("127.0.0.1", "wild.test", "/p"),
    ("127.0.0.1", "dot.test", "/p"),
    ("127.0.0.1", "a.dot.test", "/p"),
    ("127.0.0.1", "www.tail.com", "/p"),
    ("127.0.0.1", "www.tail.co.uk", "/p"),
    ("127.0.0.1", "abc.re.test", "/p?x"),
    ("127.0.0.1", "ABC.re.test", "/z"),
    ("127.0.0.1", "a.b.re.test", "/z"),
    ("127.0.0.1", "srvrw.test", "/s/x?y"),
    ("127.0.0.1", "srvrw.test", "/l/x"),
    ("127.0.0.1", "srvrw.test", "/p/x"),
    ("127.0.0.1", "srvrw.test", "/other"),
    ("127.0.0.1", "merge.test", "//a//b"),
    ("127.0.0.2", "app.test", "/x"),
    ("127.0.0.2", "wildaddr.test", "/y?z"),
    ("127.0.0.2", "nobody.test", "/"),
];

fn line_of(conf: &str, needle: &str) -> Option<u64> {
    conf.lines()
        .position(|l| l.contains(needle))
        .map(|i| i as u64 + 1)
}

/// The line of the `server {` block holding line `loc_line`.
fn server_line(conf: &str, loc_line: u64) -> Option<u64> {
    conf.lines()
        .take(loc_line as usize)
        .enumerate()
        .filter(|(_, l)| l.contains("# srv="))
        .map(|(i, _)| i as u64 + 1)
        .last()
}

fn response_header(head: &str, name: &str) -> Option<String> {
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
    })
}

/// One request: address to connect to, Host header, request target, and
/// an optional extra header.
type Case<'a> = (&'a str, &'a str, &'a str, Option<(&'a str, &'a str)>);

/// Tallies of one differential run.
#[derive(Default)]
struct Tally {
    failures: Vec<String>,
    proxied: usize,
    answered: usize,
}

/// Send every case through nginx and through `route`, and compare.
/// `extra` is one optional request header sent to both.
fn verify(nginx: &badgateway_lab::Nginx, backends: &[&Backend], cases: &[Case<'_>]) -> Tally {
    let conf_path = nginx.conf_path.to_string_lossy().into_owned();
    let conf = std::fs::read_to_string(&nginx.conf_path).unwrap();
    let mut t = Tally::default();
    for &(ip, host, path, extra) in cases {
        let addr: SocketAddr = format!("{ip}:{}", nginx.port).parse().unwrap();
        let mut headers = vec![("Host", host)];
        headers.extend(extra);
        let resp = http::request(addr, "GET", path, &headers, Duration::from_secs(5))
            .unwrap_or_else(|e| panic!("{ip} {host} {path}: {e}"));
        let url = format!("http://{ip}:{}{path}", nginx.port);
        let host_arg = format!("Host: {host}");
        let mut args = vec![
            "route".to_owned(),
            url,
            "--header".into(),
            host_arg,
            "--config".into(),
            conf_path.clone(),
            "--format".into(),
            "json".into(),
        ];
        if let Some((k, v)) = extra {
            args.push("--header".into());
            args.push(format!("{k}: {v}"));
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = badgateway(&args);
        let case = format!("[{ip} Host: {host} {path} {extra:?}]");
        if o.status.code() != Some(0) {
            t.failures.push(format!(
                "{case}: exit {:?}: {}",
                o.status.code(),
                stderr(&o)
            ));
            continue;
        }
        let j: Value = serde_json::from_str(&stdout(&o)).expect("route prints JSON");
        let got_seen = seen(&resp.body);
        let tag = got_seen
            .as_ref()
            .map(|s| s.tag.clone())
            .or_else(|| response_header(&resp.head, "X-Loc"));
        // An error_page fallback: nginx's answer is one of route's alternatives.
        let via_alt = got_seen.is_some()
            && j["pass"]["servers"]
                .as_array()
                .is_some_and(|s| !s.iter().any(|v| backends.iter().any(|b| v == &b.address())));
        let (loc, pass, status) = if via_alt {
            let alt = j["alternatives"]
                .as_array()
                .and_then(|a| a.iter().find(|a| !a["pass"].is_null()))
                .cloned()
                .unwrap_or(Value::Null);
            (
                alt["location"].clone(),
                alt["pass"].clone(),
                alt["status"].clone(),
            )
        } else {
            (
                j["location"].clone(),
                j["pass"].clone(),
                j["status"].clone(),
            )
        };
        let mut fail = |what: String| t.failures.push(format!("{case}: {what}"));
        if let Some(tag) = &tag {
            let loc_line = line_of(&conf, &format!("X-Loc {tag} always;")).expect("tag in conf");
            if loc["line"].as_u64() != Some(loc_line) {
                fail(format!(
                    "nginx used location at line {loc_line} ({tag}), route says {loc}"
                ));
            }
            let srv = server_line(&conf, loc_line).unwrap();
            if j["server"]["line"].as_u64() != Some(srv) {
                fail(format!(
                    "nginx used server at line {srv}, route says {}",
                    j["server"]
                ));
            }
        }
        match got_seen {
            Some(s) => {
                t.proxied += 1;
                let want = backends
                    .iter()
                    .find(|b| b.address().starts_with("unix:") == (s.via == "unix"))
                    .map(|b| b.address())
                    .unwrap_or_default();
                if pass["upstream_uri"].as_str() != Some(s.target.as_str()) {
                    fail(format!(
                        "nginx sent {:?} upstream, route predicts {}",
                        s.target, pass["upstream_uri"]
                    ));
                }
                let servers = pass["servers"].as_array().cloned().unwrap_or_default();
                if !servers.iter().any(|v| v.as_str() == Some(want.as_str())) {
                    fail(format!(
                        "nginx connected to {want}, route lists {servers:?}"
                    ));
                }
            }
            None => {
                t.answered += 1;
                if !pass.is_null() {
                    fail(format!(
                        "nginx answered {} itself, route predicts a pass {pass}",
                        resp.status
                    ));
                }
                // Static files: route cannot see the disk and lists the
                // other outcome as an alternative.
                let alts: Vec<u64> = j["alternatives"]
                    .as_array()
                    .map(|a| a.iter().filter_map(|a| a["status"].as_u64()).collect())
                    .unwrap_or_default();
                let got = u64::from(resp.status);
                if status.as_u64() != Some(got) && !(status == 200 && alts.contains(&got)) {
                    fail(format!(
                        "nginx answered {}, route predicts status {status} (alternatives {alts:?})",
                        resp.status
                    ));
                }
                if let Some(loc) = response_header(&resp.head, "Location") {
                    let want = j["redirect"].as_str().unwrap_or_default();
                    if !loc.ends_with(want) || want.is_empty() {
                        fail(format!(
                            "nginx redirected to {loc}, route predicts {want:?}"
                        ));
                    }
                }
            }
        }
    }
    t
}

fn report(name: &str, cases: usize, t: &Tally) {
    eprintln!(
        "route vs nginx ({name}): {cases} URLs ({} proxied, {} answered by nginx), {} mismatches",
        t.proxied,
        t.answered,
        t.failures.len()
    );
    assert!(
        t.failures.is_empty(),
        "{} mismatches:\n{}",
        t.failures.len(),
        t.failures.join("\n")
    );
}

#[test]
fn route_predicts_what_nginx_sends_upstream() {
    let Some(bin) = require_nginx() else { return };
    let tcp = Backend::tcp();
    let unix = Backend::unix();
    let nginx = NginxBuilder::new(bin, config(&tcp.address(), &unix.address()))
        .start()
        .expect("nginx starts");
    let cases: Vec<_> = CASES.iter().map(|&(a, h, p)| (a, h, p, None)).collect();
    let t = verify(&nginx, &[&tcp, &unix], &cases);
    report("main", cases.len(), &t);
    assert!(
        t.proxied >= 60,
        "at least 60 URLs reach the backend ({})",
        t.proxied
    );
}

/// Edge cases: URI parsing with the default server's `merge_slashes`, `^~`
/// nested in a prefix (outer regexes still apply), no location at all,
/// `map`, `if` with its own `proxy_pass`, an `error_page` fallback after a
/// real connection failure, redirects, captures in `proxy_pass`.
fn config2(tcp: &str, dead: u16) -> String {
    format!(
        r#"
upstream grp {{ server {tcp}; }}
map $arg_v $mapped {{ default /d; ~^(?<x>[a-z]+)$ /m/$x; exact /e; }}

server {{ listen 127.0.0.1:@LISTEN@ default_server; server_name first.test; merge_slashes off; # srv=first
  location = / {{ proxy_set_header X-Loc eq-root; add_header X-Loc eq-root always; proxy_pass http://grp/root; }}
  location / {{ proxy_set_header X-Loc first-root; add_header X-Loc first-root always; proxy_pass http://grp;
    location ^~ /inner/ {{ proxy_set_header X-Loc inner; add_header X-Loc inner always; proxy_pass http://grp/i/; }}
  }}
  location ~ \.css$ {{ proxy_set_header X-Loc css; add_header X-Loc css always; proxy_pass http://grp; }}
  location ~ ^/cap/(\d+)/(.*)$ {{ proxy_set_header X-Loc cap; add_header X-Loc cap always; proxy_pass http://grp/c/$2/$1; }}
  location /map/ {{ proxy_set_header X-Loc map; add_header X-Loc map always; proxy_pass http://grp$mapped; }}
  location /ifp/ {{ proxy_set_header X-Loc ifp; add_header X-Loc ifp always; if ($http_x_alt) {{ proxy_pass http://grp; }} proxy_pass http://grp/main/; }}
  location /ep/ {{ proxy_set_header X-Loc ep; add_header X-Loc ep always; proxy_pass http://127.0.0.1:{dead}; error_page 502 = @ep; }}
  location @ep {{ proxy_set_header X-Loc ep-named; add_header X-Loc ep-named always; proxy_pass http://grp; }}
  location /abs/ {{ add_header X-Loc abs always; rewrite ^/abs/(.*)$ http://elsewhere.test/$1; }}
  location /red/ {{ add_header X-Loc red always; rewrite ^/red/(.*)$ /both/$1 redirect; }}
  location /r301 {{ add_header X-Loc r301 always; return 301 https://$host$request_uri; }}
  location /enc/ {{ proxy_set_header X-Loc enc; add_header X-Loc enc always; proxy_pass http://grp/e/; }}
  location /qs/ {{ proxy_set_header X-Loc qs; add_header X-Loc qs always; rewrite ^ /fixed/?new=1 break; proxy_pass http://grp; }}
  location /loop/ {{ add_header X-Loc loop always; rewrite ^ /loop/x last; }}
  location /setarg/ {{ proxy_set_header X-Loc setarg; add_header X-Loc setarg always; set $args "a=1"; proxy_pass http://grp/s/; }}
}}
server {{ listen 127.0.0.1:@LISTEN@; server_name second.test; # srv=second
  location /only/ {{ proxy_set_header X-Loc second-only; add_header X-Loc second-only always; proxy_pass http://grp/o/; }}
}}
server {{ listen 127.0.0.1:@LISTEN@; server_name ~^r1\. ~^(?<n>\w+)\.regex\.test$; # srv=re1
  location / {{ proxy_set_header X-Loc re1; add_header X-Loc re1 always; proxy_pass http://grp/$n; }}
}}
server {{ listen 127.0.0.1:@LISTEN@; server_name ~\.regex\.test$ *.regex.test; # srv=re2
  location / {{ proxy_set_header X-Loc re2; add_header X-Loc re2 always; proxy_pass http://grp; }}
}}
"#
    )
}

#[test]
fn route_matches_nginx_on_edge_cases() {
    let Some(bin) = require_nginx() else { return };
    let tcp = Backend::tcp();
    let dead = badgateway_lab::free_port();
    let nginx = NginxBuilder::new(bin, config2(&tcp.address(), dead))
        .start()
        .expect("nginx starts");
    let l = "127.0.0.1";
    let cases: Vec<Case<'_>> = vec![
        (l, "first.test", "/", None),
        (l, "first.test", "/?x=1", None),
        (l, "first.test", "//a//b", None),
        (l, "second.test", "//only//x", None),
        (l, "second.test", "/only//x", None),
        (l, "second.test", "/nothing/here", None),
        (l, "first.test", "/inner/x", None),
        (l, "first.test", "/inner/a.css", None),
        (l, "first.test", "/x/a.css?v=2", None),
        (l, "first.test", "/cap/42/rest/of?x=1", None),
        (l, "first.test", "/cap/x/rest", None),
        (l, "first.test", "/map/?v=abc", None),
        (l, "first.test", "/map/?v=EXACT", None),
        (l, "first.test", "/map/?v=1-2", None),
        (l, "first.test", "/map/", None),
        (l, "first.test", "/ifp/x?y", None),
        (l, "first.test", "/ifp/x?y", Some(("X-Alt", "1"))),
        (l, "first.test", "/ifp/x?y", Some(("X-Alt", "0"))),
        (l, "first.test", "/ep/x%20y?z", None),
        (l, "first.test", "/abs/p?q=1", None),
        (l, "first.test", "/red/p?q=1", None),
        (l, "first.test", "/r301/x?y", None),
        (l, "first.test", "/enc/%41%42", None),
        (l, "first.test", "/enc/café", None),
        (l, "first.test", "/enc/a+b%2Bc", None),
        (l, "first.test", "/qs/anything?old=1", None),
        (l, "first.test", "/setarg/x?b=2", None),
        (l, "first.test", "/loop/", None),
        (l, "r1.regex.test", "/p", None),
        (l, "abc.regex.test", "/p", None),
        (l, "a.b.regex.test", "/p", None),
        (l, "x.regex.test", "/p", None),
    ];
    let t = verify(&nginx, &[&tcp], &cases);
    report("edge cases", cases.len(), &t);
}
