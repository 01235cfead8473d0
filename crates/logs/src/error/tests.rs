//! Parser tests on real nginx 1.22.1 lines and on hostile input.

use super::*;

const REFUSED: &[u8] = b"2026/11/21 13:40:41 [error] 32248#32248: *1 connect() failed (111: Connection refused) while connecting to upstream, client: 127.0.0.1, server: lab.example.com, request: \"GET /refused HTTP/1.1\", upstream: \"http://127.0.0.1:19999/refused\", host: \"127.0.0.1:18080\", referrer: \"http://ref.example/\"";

#[test]
fn full_line() {
    let e = parse_line(REFUSED);
    assert_eq!(e.time.unwrap().to_string(), "2026-11-21T13:40:41");
    assert_eq!(e.level, Level::Error);
    assert_eq!((e.pid, e.tid, e.conn), (Some(32248), Some(32248), Some(1)));
    assert_eq!(e.message, b"connect() failed");
    let errno = e.errno.unwrap();
    assert_eq!((errno.code, errno.text), (111, &b"Connection refused"[..]));
    assert_eq!(e.action, Some(&b"connecting to upstream"[..]));
    assert_eq!(e.ctx.client, Some(&b"127.0.0.1"[..]));
    assert_eq!(e.ctx.server, Some(&b"lab.example.com"[..]));
    assert_eq!(e.ctx.request, Some(&b"GET /refused HTTP/1.1"[..]));
    assert_eq!(e.ctx.upstream, Some(&b"http://127.0.0.1:19999/refused"[..]));
    assert_eq!(e.ctx.host, Some(&b"127.0.0.1:18080"[..]));
    assert_eq!(e.ctx.referrer, Some(&b"http://ref.example/"[..]));
    assert!(!e.ctx.cut && !e.truncated);
    assert_eq!(e.peer(), Some(&b"127.0.0.1:19999"[..]));
    assert_eq!(
        e.ctx.request_target(),
        Some((&b"GET"[..], &b"/refused"[..]))
    );
}

#[test]
fn unix_socket_peer_and_fastcgi_colon() {
    let e = parse_line(b"2026/11/21 13:40:41 [crit] 32248#32248: *3 connect() to unix:/run/lab/php-fpm.sock failed (2: No such file or directory) while connecting to upstream, client: 127.0.0.1, server: lab.example.com, request: \"GET /unixmissing HTTP/1.1\", upstream: \"fastcgi://unix:/run/lab/php-fpm.sock:\", host: \"127.0.0.1:18080\"\n");
    assert_eq!(e.level, Level::Crit);
    assert_eq!(e.message, b"connect() to unix:/run/lab/php-fpm.sock failed");
    let u = e.ctx.upstream_field().unwrap();
    assert_eq!(u.scheme, b"fastcgi");
    assert_eq!(u.peer, b"unix:/run/lab/php-fpm.sock");
    assert_eq!(u.uri, b"");
    assert!(e.peer_is_unix());
}

#[test]
fn no_live_upstreams_names_the_group() {
    let e = parse_line(b"2026/11/21 13:40:57 [error] 32248#32248: *46 no live upstreams while connecting to upstream, client: 127.0.0.1, server: lab.example.com, request: \"GET /group HTTP/1.1\", upstream: \"http://backend/group\", host: \"127.0.0.1:18080\"");
    assert_eq!(e.message, b"no live upstreams");
    assert!(e.errno.is_none());
    assert_eq!(e.peer(), Some(&b"backend"[..]));
}

#[test]
fn resolver_lines() {
    let e = parse_line(b"2026/11/21 13:40:57 [error] 32248#32248: *40 backend.internal could not be resolved (110: Operation timed out), client: 127.0.0.1, server: lab.example.com, request: \"GET /resolvefail?h=backend.internal HTTP/1.1\", host: \"127.0.0.1:18080\"");
    assert_eq!(e.message, b"backend.internal could not be resolved");
    assert_eq!(e.errno.unwrap().code, 110);
    assert_eq!(e.action, None);
    assert_eq!(e.ctx.upstream, None);
    let e = parse_line(b"2026/11/21 13:40:55 [error] 32248#32248: send() failed (111: Connection refused) while resolving, resolver: 127.0.0.1:5354");
    assert_eq!(e.conn, None);
    assert_eq!(e.action, Some(&b"resolving"[..]));
    assert_eq!(e.ctx.resolver, Some(&b"127.0.0.1:5354"[..]));
    assert_eq!(e.message, b"send() failed");
}

#[test]
fn empty_server_name_and_ipv6() {
    let e = parse_line(b"2026/11/21 13:41:57 [alert] 6642#6642: *1 3 worker_connections are not enough while connecting to upstream, client: 127.0.0.1, server: , request: \"GET /x HTTP/1.1\", upstream: \"http://[::1]:19001/x\", host: \"127.0.0.1:18081\"");
    assert_eq!(e.ctx.server, Some(&b""[..]));
    assert_eq!(e.message, b"3 worker_connections are not enough");
    assert_eq!(e.peer(), Some(&b"[::1]:19001"[..]));
}

#[test]
fn truncated_line_keeps_the_peer() {
    let mut line = b"2026/11/21 13:40:43 [error] 1#1: *5 upstream timed out (110: Connection timed out) while reading response header from upstream, client: 10.0.0.1, server: api.example.com, request: \"GET /a?x=".to_vec();
    line.extend(std::iter::repeat_n(b'A', 900));
    line.extend_from_slice(b" HTTP/1.1\", upstream: \"http://10.0.1.11:8080/a?x=");
    line.extend(std::iter::repeat_n(b'A', 2047 - line.len()));
    let e = parse_line(&line);
    assert!(e.truncated && e.ctx.cut);
    assert_eq!(e.peer(), Some(&b"10.0.1.11:8080"[..]));
    assert_eq!(e.ctx.host, None);
}

#[test]
fn request_line_injection_does_not_move_the_upstream() {
    let e = parse_line(b"2026/11/21 13:40:41 [error] 1#1: *1 connect() failed (111: Connection refused) while connecting to upstream, client: 1.2.3.4, server: s, request: \"GET /\", upstream: \"evil\", host: \"x HTTP/1.1\", upstream: \"http://10.0.0.9:80/\", host: \"h\"");
    assert_eq!(e.peer(), Some(&b"10.0.0.9:80"[..]));
    assert_eq!(e.ctx.host, Some(&b"h"[..]));
}

#[test]
fn multi_line_fastcgi_stderr() {
    let e = parse_line(b"2026/11/21 13:40:41 [error] 7#7: *9 FastCGI sent in stderr: \"PHP message: PHP Fatal error:  boom\nStack trace:\n#0 {main}\" while reading response header from upstream, client: 127.0.0.1, server: x, request: \"GET / HTTP/1.1\", upstream: \"fastcgi://unix:/run/php.sock:\", host: \"x\"");
    assert!(e.message.starts_with(b"FastCGI sent in stderr"));
    assert_eq!(
        e.action,
        Some(&b"reading response header from upstream"[..])
    );
    assert_eq!(e.peer(), Some(&b"unix:/run/php.sock"[..]));
}

#[test]
fn garbage_never_panics() {
    for g in [
        &b""[..],
        b"\n",
        b"garbage",
        b"2026/11/21 13:40:41 [",
        b"2026/11/21 13:40:41 [error] ",
        b"2026/11/21 13:40:41 [error] 1#",
        b"2026/11/21 13:40:41 [error] 1#1:",
        b"2026/11/21 13:40:41 [error] 1#1: *",
        b"2026/11/21 13:40:41 [error] 1#1: *12",
        b"2026/11/21 13:40:41 [error] 1#1: (",
        b"2026/11/21 13:40:41 [error] 1#1: x ()",
        b"2026/11/21 13:40:41 [error] 1#1: x (1:)",
        b"2026/11/21 13:40:41 [error] 1#1: x, client: ",
        b"2026/11/21 13:40:41 [error] 1#1: x, client: a, server: ",
        b"2026/11/21 13:40:41 [error] 1#1: x, client: a, server: b, request: \"",
        b"2026/11/21 13:40:41 [error] 1#1: x, client: a, server: b, upstream: \"unix:",
        b"2026/11/21 13:40:41 [error] 1#1: x, client: a, server: b, upstream: \"http://[",
        b"2026/11/21 13:40:41 [error] 99999999999#1: x",
        b"\xff\xfe\x00\x1b[2J",
    ] {
        let e = parse_line(g);
        let _ = e.peer();
        let _ = e.ctx.request_target();
    }
    assert_eq!(parse_line(b"garbage").level, Level::Unknown);
}

#[test]
fn bsd_and_musl_errno_texts_parse() {
    let e = parse_line(b"2026/11/21 13:40:41 [error] 1#0: *1 kevent() reported that connect() failed (61: Connection refused) while connecting to upstream, client: 1.2.3.4, server: s");
    assert_eq!(e.errno.unwrap().code, 61);
    assert_eq!(e.tid, Some(0));
}

#[test]
fn fast_upstream_field_agrees_with_the_full_parse() {
    let lines: [&[u8]; 3] = [
        REFUSED,
        b"2026/11/21 13:40:41 [error] 1#1: *1 connect() failed (111: Connection refused) while connecting to upstream, client: 1.2.3.4, server: s, request: \"GET /\", upstream: \"http://evil/\", x HTTP/1.1\", upstream: \"http://10.0.0.9:80/\", host: \"h\"",
        b"2026/11/21 13:40:41 [error] 1#1: *1 upstream timed out (110: Connection timed out) while reading response header from upstream, client: 1.2.3.4, server: s, request: \"GET /x HTTP/1.1\", upstream: \"http://10.0.0.9:80/x",
    ];
    for l in lines {
        let full = parse_line(l);
        let (mut e, fields) = parse_lazy(l, &mut TimeCache::default());
        context::parse_upstream_only(&mut e.ctx, fields);
        assert_eq!(
            e.ctx.upstream,
            full.ctx.upstream,
            "{}",
            String::from_utf8_lossy(l)
        );
        assert_eq!(e.ctx.upstream_cut, full.ctx.upstream_cut);
    }
}

#[test]
fn known_templates_split_like_the_general_parser() {
    let data = include_bytes!("../../tests/data/gen-error.log");
    let mut hits = 0;
    for line in data.split(|&c| c == b'\n').filter(|l| !l.is_empty()) {
        let full = parse_line(line);
        let (mut e, body) = parse_head(line, &mut TimeCache::default());
        let Some(body) = body else { continue };
        let Some(t) = crate::catalog::templates::lookup(body) else {
            continue;
        };
        hits += 1;
        let fields = split_known(&mut e, body, t);
        parse_fields(&mut e.ctx, fields);
        assert_eq!(e, full, "{}", String::from_utf8_lossy(line));
        let class = t.class(full.level, full.conn.is_some());
        if full.conn.is_some() {
            assert_eq!(class, Some(crate::catalog::classify(&full)));
        } else {
            assert_eq!(class, None);
        }
    }
    assert!(hits > 500, "{hits}");
}

#[test]
fn digit_runs() {
    for (s, i, want) in [
        (&b"1234#5"[..], 0, 4),
        (b"12345678901234#", 0, 14),
        (b"x12345678", 1, 9),
        (b"9", 0, 1),
        (b"#", 0, 0),
        (b"00000000", 0, 8),
        (b"0123456789:", 0, 10),
        (b"12\x8a34", 0, 2),
        (b"12/34567890", 0, 2),
        (b"1:", 0, 1),
    ] {
        assert_eq!(digit_run(s, i), want, "{}", String::from_utf8_lossy(s));
    }
}
