//! Format compiler and line parser tests, on lines nginx 1.22.1 wrote.

use super::*;
use crate::access::upstream::attempts;

#[test]
fn combined_line() {
    let f = Format::builtin("combined").unwrap();
    let line = b"127.0.0.1 - - [21/Nov/2026:13:40:41 +0000] \"GET /refused?x=1 HTTP/1.1\" 502 157 \"-\" \"curl/7.88.1\"";
    let r = f.parse(line).unwrap();
    assert_eq!(r.status(), Some(502));
    assert_eq!(r.get(Var::RemoteAddr), Some(&b"127.0.0.1"[..]));
    assert_eq!(r.path(), Some(&b"/refused"[..]));
    assert_eq!(r.time().unwrap().to_string(), "2026-11-21T13:40:41");
    assert_eq!(r.value(Var::Referer), None);
    assert!(f.parse(b"garbage").is_err());
    assert!(f.parse(&line[..line.len() - 1]).is_err());
}

#[test]
fn upstreaminfo_multi_values() {
    let f = Format::builtin("upstreaminfo").unwrap();
    let line = b"23.1.2.3 - - [01/Nov/2026:00:00:01 +0000] \"GET /api/v1/session HTTP/2.0\" 502 150 \"-\" \"curl/7.88.1\" 120 0.004 [prod-api-8080] [] 10.244.1.11:8080, 10.244.2.12:8080 : 10.244.9.99:8080 0, 0 : 150 0.001, 0.002 : 0.001 502, 502 : 502 0123456789abcdef0123456789abcdef";
    let r = f.parse(line).unwrap();
    assert_eq!(r.status(), Some(502));
    assert_eq!(
        r.get(Var::UpstreamAddr),
        Some(&b"10.244.1.11:8080, 10.244.2.12:8080 : 10.244.9.99:8080"[..])
    );
    assert_eq!(r.get(Var::ProxyUpstreamName), Some(&b"prod-api-8080"[..]));
    let a = attempts(&r);
    assert_eq!(a.len(), 3);
    assert_eq!(a[1].addr, b"10.244.2.12:8080");
    assert!(!a[1].redirect && a[2].redirect);
    assert_eq!(a[2].status, Some(502));
    assert_eq!(a[2].bytes, Some(150));
    let none = b"23.1.2.3 - - [01/Nov/2026:00:00:01 +0000] \"GET / HTTP/1.1\" 301 162 \"-\" \"-\" 80 0.000 [prod-web-3000] [] - - - - 0123456789abcdef0123456789abcdef";
    let r = f.parse(none).unwrap();
    assert!(attempts(&r).is_empty());
}

#[test]
fn config_syntax_and_lab_format() {
    let f = Format::compile(
        "lab",
        r#"'$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent ' '"$http_referer" "$http_user_agent" ua="$upstream_addr" us="$upstream_status" ' 'urt="$upstream_response_time" uct="$upstream_connect_time" ' 'uht="$upstream_header_time" ubr="$upstream_bytes_received"'"#,
    )
    .unwrap();
    let line = br#"127.0.0.1 - - [21/Nov/2026:13:40:57 +0000] "GET /mixed HTTP/1.1" 200 2 "-" "-" ua="127.0.0.1:19999, 127.0.0.1:19001" us="502, 200" urt="0.000, 0.001" uct="-, 0.000" uht="-, 0.001" ubr="0, 59""#;
    let r = f.parse(line).unwrap();
    let a = attempts(&r);
    assert_eq!(a.len(), 2);
    assert_eq!((a[0].status, a[1].status), (Some(502), Some(200)));
    assert_eq!((a[0].connect_time, a[1].header_time), (None, Some(0.001)));
    assert_eq!(a[1].bytes, Some(59));
    let bind = br#"127.0.0.1 - - [21/Nov/2026:13:40:57 +0000] "GET /bindfail HTTP/1.1" 500 177 "-" "-" ua="" us="-" urt="0.000" uct="-" uht="-" ubr="0""#;
    let r = f.parse(bind).unwrap();
    assert_eq!(attempts(&r).len(), 1);
    assert_eq!(attempts(&r)[0].addr, b"");
}

#[test]
fn json_escape_format() {
    let f = Format::compile(
        "j",
        r#"escape=json '{"t":"$time_iso8601","s":$status,"r":"$request","ua":"$upstream_addr"}'"#,
    )
    .unwrap();
    assert_eq!(f.escape, Escape::Json);
    let r = f
        .parse(br#"{"t":"2026-11-21T13:40:41+00:00","s":504,"r":"GET /a\"b HTTP/1.1","ua":"10.0.0.1:80"}"#)
        .unwrap();
    assert_eq!(r.status(), Some(504));
    assert_eq!(r.get(Var::Request), Some(&br#"GET /a\"b HTTP/1.1"#[..]));
    assert_eq!(r.time().unwrap().to_string(), "2026-11-21T13:40:41");
}

#[test]
fn compile_errors() {
    assert!(matches!(
        Format::compile("x", "$a$b"),
        Err(FormatError::Adjacent { .. })
    ));
    assert!(matches!(
        Format::compile("x", "'abc"),
        Err(FormatError::UnterminatedQuote { .. })
    ));
    assert!(matches!(
        Format::compile("x", "a $ b"),
        Err(FormatError::BadVariable { .. })
    ));
    assert!(matches!(
        Format::compile("x", "${a"),
        Err(FormatError::BadVariable { .. })
    ));
    assert!(matches!(
        Format::compile("x", "  "),
        Err(FormatError::Empty { .. })
    ));
    assert!(matches!(
        Format::compile("x", "escape=yaml '$a'"),
        Err(FormatError::BadEscape { .. })
    ));
    assert!(Format::compile("x", "${status} x").is_ok());
}

#[test]
fn detection_prefers_the_specific_format() {
    let cands: Vec<Format> = BUILTINS
        .iter()
        .map(|(n, t)| Format::compile(n, t).unwrap())
        .collect();
    let combined: &[u8] =
        b"1.2.3.4 - - [21/Nov/2026:13:40:41 +0000] \"GET / HTTP/1.1\" 200 5 \"-\" \"x\"";
    let (f, n) = crate::access::detect(&cands, &[combined, combined]).unwrap();
    assert_eq!((f.name.as_str(), n), ("combined", 2));
}
